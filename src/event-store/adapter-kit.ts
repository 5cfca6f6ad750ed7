import type { JsonObject } from '../common/json.js';
import type { EventMetadata, NewEvent, StoredEvent } from './event-envelope.js';
import { DuplicateEventIdError, InvalidEventIdError, InvalidPositionError } from './event-store.errors.js';
import type { ReadStreamOptions, StreamAppend, SubscribeAllOptions } from './event-store.port.js';

/**
 * Rules every adapter shares, kept in one place so they cannot drift apart:
 * argument checks (versions, event ids, times), the retry rule, and for the
 * adapters that number the global order themselves (`sqlite`, `memory`,
 * `postgres`) integer positions and the page-then-wait loop behind
 * `subscribeAll`.
 */

/**
 * An events-table row as both SQL adapters store it: the envelope's fields
 * in snake case, data and metadata as the JSON text that was hashed, the
 * position as the table's integer key (SQLite hands it back as a number,
 * PostgreSQL's bigint as a string).
 */
export interface EventRow {
  position: number | string;
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
  prev_hash: string;
  hash: string;
}

/** The stored event of an events-table row. */
export function storedEventOf(row: EventRow): StoredEvent {
  return {
    streamId: row.stream_id,
    version: row.version,
    eventId: row.event_id,
    type: row.type,
    data: JSON.parse(row.data) as JsonObject,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    prevHash: row.prev_hash,
    hash: row.hash,
    position: String(row.position),
  };
}

/** The most events one `readAll` call returns, whatever `limit` asks for. */
export const READ_ALL_MAX_LIMIT = 10_000;

const SEQUENCE_POSITION = /^(0|[1-9][0-9]*)$/;

/**
 * `sqlite`, `memory` and `postgres` number the global order with increasing
 * integers (1, 2, 3, … in-process; a sequence with gaps on PostgreSQL) and
 * write the number as a decimal string. `'0'` is a valid `after`: before
 * every event.
 * @throws InvalidPositionError for anything else.
 */
export function parseSequencePosition(position: string): number {
  const value = SEQUENCE_POSITION.test(position) ? Number(position) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new InvalidPositionError(position);
  return value;
}

export function isSequencePosition(value: string): boolean {
  return SEQUENCE_POSITION.test(value) && Number.isSafeInteger(Number(value));
}

/** Numeric order: `'9'` comes before `'10'`, which string order gets wrong. */
export function compareSequencePositions(a: string, b: string): number {
  return Math.sign(parseSequencePosition(a) - parseSequencePosition(b));
}

/**
 * The port's event-id rule: a lowercase RFC 4122 UUID, 8-4-4-4-12, version
 * 1-8 and variant 10xx. EventStoreDB stores ids as GUIDs and hands them back
 * in exactly this spelling (and refuses the nil GUID), so any other spelling
 * would come back changed and break the event's hash.
 */
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}

/**
 * The retry rule of the port: the stream's events right after the expected
 * version (`stored`, read up to `events.length` of them) are exactly the
 * events of this append, so an earlier attempt of it committed. Never true
 * for an empty append: that is a version check, which a retry cannot pass.
 */
export function isCommittedRetry(stored: readonly { eventId: string }[], events: readonly NewEvent[]): boolean {
  return (
    events.length > 0 &&
    stored.length === events.length &&
    events.every((event, i) => stored[i]?.eventId === event.eventId)
  );
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, not ${value}`);
  }
}

/** Milliseconds since the epoch of an ISO time; throws on anything unparsable. */
export function isoTimeToMs(name: string, iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`${name} is not an ISO 8601 time: "${iso}"`);
  return ms;
}

/**
 * Checks an append before any I/O: versions are counts, event ids follow the
 * port's rule and are distinct within the batch (adapters that can also check
 * them against what is stored do), and every `occurredAt` is a time, because
 * `toTime` reads compare it as one.
 * @returns `occurredAt` of each event in ms, per append.
 */
export function checkAppends(appends: readonly StreamAppend[]): number[][] {
  const seen = new Set<string>();
  return appends.map(({ streamId, expectedVersion, events }) => {
    assertCount(`expectedVersion of ${streamId}`, expectedVersion);
    return events.map((event: NewEvent) => {
      if (!EVENT_ID.test(event.eventId)) throw new InvalidEventIdError(event.eventId);
      if (seen.has(event.eventId)) throw new DuplicateEventIdError(event.eventId);
      seen.add(event.eventId);
      return isoTimeToMs(`metadata.occurredAt of event ${event.eventId}`, event.metadata.occurredAt);
    });
  });
}

export interface StreamRange {
  afterVersion: number;
  toVersion: number;
  /** `toTime` as ms since the epoch. */
  toTimeMs: number;
  /** -1: no limit (SQLite's spelling). */
  limit: number;
}

/**
 * `toTime` is compared as an instant, not as a string, so
 * `2024-01-01T00:00:00Z` and `2024-01-01T00:00:00.000Z` mean the same time.
 */
export function streamRange(options: ReadStreamOptions = {}): StreamRange {
  const { afterVersion = 0, toVersion, toTime, limit } = options;
  assertCount('afterVersion', afterVersion);
  if (toVersion !== undefined) assertCount('toVersion', toVersion);
  if (limit !== undefined) assertCount('limit', limit);
  return {
    afterVersion,
    toVersion: toVersion ?? Number.MAX_SAFE_INTEGER,
    toTimeMs: toTime === undefined ? Number.MAX_SAFE_INTEGER : isoTimeToMs('toTime', toTime),
    limit: limit ?? -1,
  };
}

/** `readAll`'s limit, checked and capped at {@link READ_ALL_MAX_LIMIT}. */
export function readAllLimit(limit: number): number {
  assertCount('limit', limit);
  return Math.min(limit, READ_ALL_MAX_LIMIT);
}

/** Whether a stream belongs to the global order a store shows. */
export function streamPrefixFilter(prefixes: readonly string[]): (streamId: string) => boolean {
  if (prefixes.length === 0 || prefixes.some((prefix) => prefix === '')) {
    throw new RangeError('streamPrefixes must list at least one non-empty prefix');
  }
  return (streamId) => prefixes.some((prefix) => streamId.startsWith(prefix));
}

/**
 * Tells waiting subscribers that this process committed something. A
 * counter rather than a bare event: a subscriber notes the count before it
 * reads, so a commit that lands between its read and its wait is not missed.
 */
export class CommitNotifier {
  #commits = 0;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  get commits(): number {
    return this.#commits;
  }

  get closed(): boolean {
    return this.#closed;
  }

  notify(): void {
    this.#commits += 1;
    for (const wake of this.#waiters) wake();
  }

  /** Wakes every waiter for good: the store is closing. */
  close(): void {
    this.#closed = true;
    for (const wake of this.#waiters) wake();
  }

  /**
   * Resolves (never rejects) once there was a commit after `seenCommits`,
   * `timeoutMs` passed, `signal` aborted or the notifier closed — whichever
   * comes first — and leaves no timer or listener behind.
   */
  waitForCommit(seenCommits: number, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (this.#commits !== seenCommits || this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(wake, timeoutMs);
    });
  }
}

export interface PagedSource<E extends { position: string }> {
  /**
   * Up to `limit` events after `after` in global order: at once for the
   * in-process stores, a promise for a server.
   */
  readPage(after: string | undefined, limit: number): E[] | Promise<E[]>;
  notifier: CommitNotifier;
  pageSize: number;
  /**
   * Also re-read this often while idle: another process may write the same
   * data without notifying us. Omitted: only notifications wake the reader.
   */
  pollIntervalMs?: number;
}

/**
 * `subscribeAll` for stores whose positions only grow in commit order (a
 * reader that has seen position n never later finds a new event below n):
 * read a page, hand it out one event at a time, and when caught up wait for
 * a commit (or the poll timer) before reading again. At most one page is
 * held, so a slow consumer slows reading instead of growing a buffer. Ends,
 * without leaving timers or listeners behind, when the signal aborts, the
 * consumer returns, or the store closes; a read that fails otherwise ends it
 * with that read's error.
 */
export async function* pagedSubscription<E extends { position: string }>(
  source: PagedSource<E>,
  options: SubscribeAllOptions = {},
): AsyncGenerator<E, void, undefined> {
  const { signal } = options;
  const stopped = (): boolean => signal?.aborted === true || source.notifier.closed;
  let after = options.after;
  while (!stopped()) {
    const seenCommits = source.notifier.commits;
    let page: E[];
    try {
      const read = source.readPage(after, source.pageSize);
      // No await for a page read at once: an in-process store's subscription
      // then runs synchronously up to its wait, as its callers may expect.
      page = read instanceof Promise ? await read : read;
    } catch (error) {
      // Closing the store, or aborting, during a read is an end, not a failure.
      if (stopped()) return;
      throw error;
    }
    for (const event of page) {
      // The consumer may have aborted, or closed the store, while holding
      // the previous event or while the page was being read.
      if (stopped()) return;
      yield event;
      after = event.position;
    }
    if (page.length < source.pageSize) {
      await source.notifier.waitForCommit(seenCommits, signal, source.pollIntervalMs);
    }
  }
}
