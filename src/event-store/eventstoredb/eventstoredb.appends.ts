import {
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type AppendResult as EsdbAppendResult,
} from '@eventstore/db-client';
import { checkAppends } from '../adapter-kit.js';
import { chainEvents, type ChainedEvent } from '../event-envelope.js';
import { EventStoreUnavailableError, PartialAppendError, WrongExpectedVersionError } from '../event-store.errors.js';
import type { AppendResult, StreamAppend } from '../event-store.port.js';
import { SITE_KEY_STREAM_PREFIX } from '../ledger-streams.js';
import type { EventStoreDbClient } from './eventstoredb.client.js';
import { expectedRevisionFor, toEventStoreDbEvent, versionAfter, versionOf } from './eventstoredb.codec.js';
import { toPortError } from './eventstoredb.errors.js';
import { START_POSITION, encodeEventStoreDbPosition } from './eventstoredb.positions.js';
import { EMPTY_HEAD_AT, type HeadAt, type LedgerReads } from './eventstoredb.reads.js';

/** One append of an `appendMany`, decided before the first write. */
type Step =
  | {
      kind: 'write';
      streamId: string;
      head: HeadAt;
      chained: readonly ChainedEvent[];
    }
  /** Already in the store: an earlier attempt committed it (the retry rule). */
  | { kind: 'committed'; result: AppendResult };

/**
 * Appends on EventStoreDB, which commits one stream per call, so
 * `appendMany` cannot be all or nothing:
 *
 * - It reads every stream's head first (the chain needs its hash) and
 *   checks every version before the first write, so a conflict it can see
 *   writes nothing. Each append still carries its expected revision, so a
 *   writer that slips in between loses with `WrongExpectedVersionError`.
 * - A failure after the first commit throws `PartialAppendError` with the
 *   results committed so far.
 * - After a failure whose outcome is unknown (a deadline, a lost
 *   connection), a version conflict, or a `success: false` result, it reads
 *   the stream back: if our events are there, the append committed (the
 *   port's retry rule) and counts as done.
 */
export class LedgerAppends {
  constructor(
    private readonly client: EventStoreDbClient,
    private readonly reads: LedgerReads,
  ) {}

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    assertWritable(appends);
    const steps = await this.plan(appends);
    const results: AppendResult[] = [];
    // An empty part after a written one of the same stream ends where that one did.
    const written = new Map<string, AppendResult>();
    for (const step of steps) {
      try {
        const earlier = step.kind === 'write' && step.chained.length === 0 ? written.get(step.streamId) : undefined;
        const result =
          step.kind === 'committed'
            ? step.result
            : (earlier ?? (await this.write(step.streamId, step.head, step.chained)));
        written.set(result.streamId, result);
        results.push(result);
      } catch (error) {
        if (results.length === 0) throw error;
        throw new PartialAppendError([...results], error);
      }
    }
    return results;
  }

  /**
   * Checks every stream's version before the first write. A stream named
   * twice continues from where its earlier part leaves it.
   */
  private async plan(appends: readonly StreamAppend[]): Promise<Step[]> {
    const distinct = [...new Set(appends.map(({ streamId }) => streamId))];
    const fetched = await Promise.all(distinct.map((streamId) => this.reads.headOf(streamId)));
    const heads = new Map(distinct.map((streamId, i) => [streamId, fetched[i] ?? EMPTY_HEAD_AT]));
    const planned = new Set<string>();
    const steps: Step[] = [];
    for (const { streamId, expectedVersion, events } of appends) {
      const head = heads.get(streamId) ?? EMPTY_HEAD_AT;
      if (head.version !== expectedVersion) {
        const retried = planned.has(streamId)
          ? undefined
          : await this.reads.committedRetry(streamId, expectedVersion, events);
        if (retried === undefined) throw new WrongExpectedVersionError(streamId, expectedVersion, head.version);
        steps.push({ kind: 'committed', result: retried });
        continue;
      }
      const chained = chainEvents(streamId, head, events);
      const last = chained.at(-1);
      if (last)
        heads.set(streamId, {
          version: last.version,
          hash: last.hash,
          position: undefined,
        });
      planned.add(streamId);
      steps.push({ kind: 'write', streamId, head, chained });
    }
    return steps;
  }

  /** Appends events already sealed onto `head`, expecting the stream to still be there. */
  private async write(streamId: string, head: HeadAt, chained: readonly ChainedEvent[]): Promise<AppendResult> {
    if (chained.length === 0) {
      // Nothing appended: the version check is all an empty append does.
      return {
        streamId,
        nextVersion: head.version,
        position: head.position ?? START_POSITION,
      };
    }
    let result: EsdbAppendResult;
    try {
      result = await this.client.appendToStream(streamId, chained.map(toEventStoreDbEvent), {
        expectedRevision: expectedRevisionFor(head.version),
      });
    } catch (error) {
      const conflict = error instanceof EsdbWrongExpectedVersionError ? error : undefined;
      const translated = toPortError(error, {
        action: `appending to ${streamId}`,
      });
      // After a deadline or a lost connection the append may have committed;
      // a conflict may be that same append, committed by an earlier attempt.
      if (conflict || translated instanceof EventStoreUnavailableError) {
        const retried = await this.reads.committedRetry(streamId, head.version, chained).catch(() => undefined);
        if (retried !== undefined) return retried;
      }
      if (conflict) {
        const actual = versionOf(conflict.actualVersion) ?? (await this.reads.headOf(streamId)).version;
        throw new WrongExpectedVersionError(streamId, head.version, actual);
      }
      throw translated;
    }
    if (!result.success) {
      // Only a client with throwOnAppendFailure=false answers a refused
      // append with `success: false` (openEventStoreDbClient refuses that
      // option; a client built elsewhere may have it). Its revision is not
      // reliable then, so read the stream.
      const retried = await this.reads.committedRetry(streamId, head.version, chained);
      if (retried !== undefined) return retried;
      const actual = (await this.reads.headOf(streamId)).version;
      throw new WrongExpectedVersionError(streamId, head.version, actual);
    }
    const position = result.position
      ? encodeEventStoreDbPosition(result.position)
      : // The protocol makes the position optional; read it back rather than guess.
        ((await this.reads.headOf(streamId)).position ?? START_POSITION);
    return {
      streamId,
      nextVersion: versionAfter(result.nextExpectedRevision),
      position,
    };
  }
}

/**
 * The checks every adapter makes (versions, event ids, times) plus
 * EventStoreDB's own: no system or key streams. Ids are not checked against
 * other streams: the server has no index for that, so ledger-wide uniqueness
 * rests on random UUIDs.
 */
function assertWritable(appends: readonly StreamAppend[]): void {
  checkAppends(appends);
  for (const { streamId } of appends) {
    if (streamId === '' || streamId.startsWith('$') || streamId.startsWith(SITE_KEY_STREAM_PREFIX)) {
      throw new RangeError(`${JSON.stringify(streamId)} is not a ledger stream`);
    }
  }
}
