import {
  CommitNotifier,
  checkAppends,
  compareSequencePositions,
  isCommittedRetry,
  isSequencePosition,
  pagedSubscription,
  parseSequencePosition,
  readAllLimit,
  streamPrefixFilter,
  streamRange,
} from '../adapter-kit.js';
import { EMPTY_STREAM_HEAD, chainEvents, type NewEvent, type StoredEvent } from '../event-envelope.js';
import { DuplicateEventIdError, EventStoreUnavailableError, WrongExpectedVersionError } from '../event-store.errors.js';
import type {
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
  SubscribeAllOptions,
} from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';

export interface MemoryEventStoreOptions {
  /** As for SqliteEventStore: the streams the global order shows. */
  streamPrefixes?: readonly string[];
}

interface Entry {
  event: StoredEvent;
  /** metadata.occurredAt in ms, for toTime reads. */
  occurredAtMs: number;
}

const SUBSCRIPTION_PAGE_SIZE = 256;

/**
 * For unit tests only: the sqlite store's semantics without a file. Positions
 * are 1, 2, 3, … as decimal strings; appendMany is all or nothing; after an
 * empty append `position` is that of the stream's last event, or `'0'`.
 *
 * Every method does its work before its first `await`, so JavaScript's single
 * thread makes each append atomic. Events are copied in and out, so a caller
 * mutating an object it passed or received cannot change the ledger — as with
 * a real store.
 */
export class MemoryEventStore implements EventStore {
  /** Global order: the event at position p is at index p - 1. */
  readonly #log: Entry[] = [];
  readonly #streams = new Map<string, Entry[]>();
  readonly #eventIds = new Set<string>();
  readonly #notifier = new CommitNotifier();
  readonly #inLedger: (streamId: string) => boolean;
  #closed = false;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.#inLedger = streamPrefixFilter(options.streamPrefixes ?? LEDGER_STREAM_PREFIXES);
  }

  async append(streamId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
    const [result] = await this.appendMany([{ streamId, expectedVersion, events }]);
    if (result === undefined) throw new Error('appendMany returned no result for one append');
    return result;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    this.#assertOpen();
    const occurredAtMs = checkAppends(appends);

    // Check and seal everything before changing anything: all or nothing.
    // `heads` lets one call append to the same stream twice, in order.
    const heads = new Map<string, { version: number; hash: string; position: string }>();
    let lastPosition = this.#log.length;
    const planned = appends.map(({ streamId, expectedVersion, events }, i) => {
      const stream = this.#streams.get(streamId) ?? [];
      const last = stream.at(-1)?.event;
      const head = heads.get(streamId) ?? last ?? { ...EMPTY_STREAM_HEAD, position: '0' };
      if (head.version !== expectedVersion) {
        const retried = heads.has(streamId) ? undefined : committedRetry(stream, expectedVersion, events);
        if (retried === undefined) {
          throw new WrongExpectedVersionError(streamId, expectedVersion, head.version);
        }
        return { entries: [], result: retried };
      }
      const entries: Entry[] = chainEvents(streamId, head, structuredClone(events)).map((event, j) => {
        lastPosition += 1;
        return {
          event: { ...event, position: String(lastPosition) },
          occurredAtMs: occurredAtMs[i]?.[j] ?? Number.NaN,
        };
      });
      const tail = entries.at(-1)?.event ?? head;
      heads.set(streamId, {
        version: tail.version,
        hash: tail.hash,
        position: tail.position,
      });
      const result: AppendResult = {
        streamId,
        nextVersion: tail.version,
        position: tail.position,
      };
      return { entries, result };
    });
    for (const { entries } of planned) {
      for (const { event } of entries) {
        if (this.#eventIds.has(event.eventId)) throw new DuplicateEventIdError(event.eventId);
      }
    }

    for (const { entries } of planned) {
      for (const entry of entries) {
        this.#log.push(entry);
        this.#eventIds.add(entry.event.eventId);
        const stream = this.#streams.get(entry.event.streamId);
        if (stream === undefined) this.#streams.set(entry.event.streamId, [entry]);
        else stream.push(entry);
      }
    }
    if (planned.some(({ entries }) => entries.length > 0)) this.#notifier.notify();
    return planned.map(({ result }) => result);
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    return this.#streams.get(streamId)?.at(-1)?.event.version ?? 0;
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]> {
    this.#assertOpen();
    const { afterVersion, toVersion, toTimeMs, limit } = streamRange(options);
    const matches = (this.#streams.get(streamId) ?? []).filter(
      ({ event, occurredAtMs }) =>
        event.version > afterVersion && event.version <= toVersion && occurredAtMs <= toTimeMs,
    );
    return (limit < 0 ? matches : matches.slice(0, limit)).map(({ event }) => structuredClone(event));
  }

  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    return this.#readAllNow(options.after, readAllLimit(options.limit));
  }

  subscribeAll(options?: SubscribeAllOptions): AsyncIterable<StoredEvent> {
    if (options?.after !== undefined) parseSequencePosition(options.after);
    return pagedSubscription(
      {
        readPage: (after, limit) => this.#readAllNow(after, limit),
        notifier: this.#notifier,
        pageSize: SUBSCRIPTION_PAGE_SIZE,
      },
      options,
    );
  }

  async lastPosition(): Promise<string | undefined> {
    this.#assertOpen();
    return this.#log.findLast(({ event }) => this.#inLedger(event.streamId))?.event.position;
  }

  isPosition(value: string): boolean {
    return isSequencePosition(value);
  }

  comparePositions(a: string, b: string): number {
    return compareSequencePositions(a, b);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  /** Idempotent. Running subscriptions end; later calls fail with EventStoreUnavailableError. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#notifier.close();
  }

  #readAllNow(after: string | undefined, limit: number): StoredEvent[] {
    this.#assertOpen();
    const page: StoredEvent[] = [];
    // Positions are indexes + 1, so the first event after `after` is at index `after`.
    for (let i = after === undefined ? 0 : parseSequencePosition(after); i < this.#log.length; i++) {
      if (page.length >= limit) break;
      const entry = this.#log[i];
      if (entry !== undefined && this.#inLedger(entry.event.streamId)) {
        page.push(structuredClone(entry.event));
      }
    }
    return page;
  }

  #assertOpen(): void {
    if (this.#closed) throw new EventStoreUnavailableError('the memory event store is closed');
  }
}

/** The answer an earlier, committed attempt of this append got (the port's retry rule), if it was one. */
function committedRetry(
  stream: readonly Entry[],
  expectedVersion: number,
  events: readonly NewEvent[],
): AppendResult | undefined {
  const following = stream.slice(expectedVersion, expectedVersion + events.length).map(({ event }) => event);
  const last = following.at(-1);
  if (last === undefined || !isCommittedRetry(following, events)) return undefined;
  return {
    streamId: last.streamId,
    nextVersion: last.version,
    position: last.position,
  };
}
