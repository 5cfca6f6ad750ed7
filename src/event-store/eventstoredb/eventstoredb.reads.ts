import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError } from '@eventstore/db-client';
import { isCommittedRetry, readAllLimit, streamRange } from '../adapter-kit.js';
import { EMPTY_STREAM_HEAD, type NewEvent, type StoredEvent, type StreamHead } from '../event-envelope.js';
import type { AppendResult, ReadAllOptions, ReadStreamOptions } from '../event-store.port.js';
import { LEADER_READ, iterateRead, type EventStoreDbClient } from './eventstoredb.client.js';
import { decodeLedgerRecord, isSystemRecord, type EventStoreDbRecord } from './eventstoredb.codec.js';
import { toPortError } from './eventstoredb.errors.js';
import {
  compareLogPositions,
  decodeEventStoreDbPosition,
  encodeEventStoreDbPosition,
} from './eventstoredb.positions.js';

/** A stream's head plus where its last event sits in the global order. */
export interface HeadAt extends StreamHead {
  position: string | undefined;
}

export const EMPTY_HEAD_AT: HeadAt = {
  ...EMPTY_STREAM_HEAD,
  position: undefined,
};

/**
 * Every read of ledger data from EventStoreDB: from the leader (see
 * `LEADER_READ`), through the codec, skipping (and reporting) system
 * records, and with the client's errors turned into the port's.
 */
export class LedgerReads {
  constructor(
    private readonly client: EventStoreDbClient,
    private readonly prefixes: readonly string[],
    private readonly warn: (message: string) => void,
  ) {}

  isLedgerStream(streamName: string): boolean {
    return this.prefixes.some((prefix) => streamName.startsWith(prefix));
  }

  /** The ledger event of a record; undefined (and reported) for a system record. */
  decode(record: EventStoreDbRecord): StoredEvent | undefined {
    return decodeLedgerRecord(record, this.warn);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const { afterVersion, toVersion, toTimeMs, limit } = streamRange(options);
    const maxCount = Math.min(toVersion - afterVersion, limit < 0 ? Number.MAX_SAFE_INTEGER : limit);
    if (maxCount <= 0) return [];
    const events: StoredEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        ...LEADER_READ,
        direction: FORWARDS,
        fromRevision: BigInt(afterVersion),
        maxCount,
      });
      for await (const { event } of iterateRead(read)) {
        const stored = event && this.decode(event);
        if (!stored) continue;
        // occurredAt grows along a stream, so the first later event ends the read.
        if (Date.parse(stored.metadata.occurredAt) > toTimeMs) break;
        events.push(stored);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw toPortError(error, { action: `reading ${streamId}` });
    }
    return events;
  }

  /** The stream's last version, hash and position; a missing stream is at the genesis head. */
  async headOf(streamId: string): Promise<HeadAt> {
    try {
      const read = this.client.readStream(streamId, {
        ...LEADER_READ,
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      });
      for await (const { event } of iterateRead(read)) {
        const last = event && this.decode(event);
        if (!last) continue;
        return {
          version: last.version,
          hash: last.hash,
          position: last.position,
        };
      }
      return EMPTY_HEAD_AT;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return EMPTY_HEAD_AT;
      throw toPortError(error, { action: `reading the head of ${streamId}` });
    }
  }

  /**
   * Filters stream names on the client: this client version offers no
   * server-side filter for reads (only for subscriptions).
   * @throws InvalidPositionError for an `after` this adapter did not issue, before any I/O.
   */
  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    const after = options.after === undefined ? undefined : decodeEventStoreDbPosition(options.after);
    const limit = readAllLimit(options.limit);
    if (limit === 0) return [];
    const events: StoredEvent[] = [];
    try {
      // No maxCount: system events in between do not count towards `limit`,
      // so read on (with gRPC flow control) and cancel once the page is full.
      const read = this.client.readAll({
        ...LEADER_READ,
        direction: FORWARDS,
        fromPosition: after ?? START,
        resolveLinkTos: false,
      });
      for await (const { event } of iterateRead(read)) {
        if (!event || !this.isLedgerStream(event.streamId)) continue;
        // Forward reads include the record at `after`.
        if (after !== undefined && compareLogPositions(event.position, after) <= 0) continue;
        const stored = this.decode(event);
        if (!stored) continue;
        events.push(stored);
        if (events.length === limit) break;
      }
    } catch (error) {
      throw toPortError(error, {
        action: 'reading $all',
        ...(options.after === undefined ? {} : { position: options.after }),
      });
    }
    return events;
  }

  /**
   * Scans `$all` backwards to the first ledger event. Costs as many records
   * as follow the last ledger event (system and key streams): on a
   * long-lived server with an empty ledger, all of `$all` (see README).
   */
  async lastPosition(): Promise<string | undefined> {
    try {
      const read = this.client.readAll({
        ...LEADER_READ,
        direction: BACKWARDS,
        fromPosition: END,
        resolveLinkTos: false,
      });
      for await (const { event } of iterateRead(read)) {
        if (event && this.isLedgerStream(event.streamId) && !isSystemRecord(event))
          return encodeEventStoreDbPosition(event.position);
      }
    } catch (error) {
      throw toPortError(error, { action: 'reading the end of $all' });
    }
    return undefined;
  }

  /**
   * The port's retry rule: the answer an earlier, committed attempt of this
   * append got, if the stream's events right after `expectedVersion` are
   * exactly `events`; undefined otherwise.
   */
  async committedRetry(
    streamId: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): Promise<AppendResult | undefined> {
    if (events.length === 0) return undefined;
    const following = await this.readStream(streamId, {
      afterVersion: expectedVersion,
      limit: events.length,
    });
    const last = following.at(-1);
    if (last === undefined || !isCommittedRetry(following, events)) return undefined;
    return { streamId, nextVersion: last.version, position: last.position };
  }
}
