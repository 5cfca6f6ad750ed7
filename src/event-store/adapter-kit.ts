import type { NewEvent } from './event-envelope.js';
import { DuplicateEventIdError } from './event-store.errors.js';
import type {
  ReadStreamOptions,
  StreamAppend,
  SubscribeAllOptions,
} from './event-store.port.js';

/**
 * Rules shared by the in-process adapters (`sqlite`, `memory`), kept in one
 * place so the two cannot drift apart: integer positions, argument checks,
 * and the page-then-wait loop behind `subscribeAll`.
 */

/** The most events one `readAll` call returns, whatever `limit` asks for. */
export const READ_ALL_MAX_LIMIT = 10_000;

/**
 * Both in-process adapters number the global order 1, 2, 3, … and write the
 * number as a decimal string. `'0'` is a valid `after`: before every event.
 */
export function parseSequencePosition(position: string): number {
  const value = /^(0|[1-9][0-9]*)$/.test(position)
    ? Number(position)
    : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `"${position}" is not a position issued by this store`,
    );
  }
  return value;
}

/** Numeric order: `'9'` comes before `'10'`, which string order gets wrong. */
export function compareSequencePositions(a: string, b: string): number {
  return Math.sign(parseSequencePosition(a) - parseSequencePosition(b));
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `${name} must be a non-negative integer, not ${value}`,
    );
  }
}

/** Milliseconds since the epoch of an ISO time; throws on anything unparsable. */
export function isoTimeToMs(name: string, iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new RangeError(`${name} is not an ISO 8601 time: "${iso}"`);
  return ms;
}

/**
 * Checks an append before any I/O: versions are counts, event ids are
 * distinct within the batch (the store enforces them against what is
 * stored), and every `occurredAt` is a time, because `toTime` reads compare
 * it as one.
 * @returns `occurredAt` of each event in ms, per append.
 */
export function checkAppends(appends: readonly StreamAppend[]): number[][] {
  const seen = new Set<string>();
  return appends.map(({ streamId, expectedVersion, events }) => {
    assertCount(`expectedVersion of ${streamId}`, expectedVersion);
    return events.map((event: NewEvent) => {
      if (seen.has(event.eventId))
        throw new DuplicateEventIdError(event.eventId);
      seen.add(event.eventId);
      return isoTimeToMs(
        `metadata.occurredAt of event ${event.eventId}`,
        event.metadata.occurredAt,
      );
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
    toTimeMs:
      toTime === undefined
        ? Number.MAX_SAFE_INTEGER
        : isoTimeToMs('toTime', toTime),
    limit: limit ?? -1,
  };
}

/** `readAll`'s limit, checked and capped at {@link READ_ALL_MAX_LIMIT}. */
export function readAllLimit(limit: number): number {
  assertCount('limit', limit);
  return Math.min(limit, READ_ALL_MAX_LIMIT);
}

/** Whether a stream belongs to the global order a store shows. */
export function streamPrefixFilter(
  prefixes: readonly string[],
): (streamId: string) => boolean {
  if (prefixes.length === 0 || prefixes.some((prefix) => prefix === '')) {
    throw new RangeError(
      'streamPrefixes must list at least one non-empty prefix',
    );
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
  waitForCommit(
    seenCommits: number,
    signal?: AbortSignal,
    timeoutMs?: number,
  ): Promise<void> {
    if (this.#commits !== seenCommits || this.#closed || signal?.aborted)
      return Promise.resolve();
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
  /** Up to `limit` events after `after` in global order. */
  readPage(after: string | undefined, limit: number): E[];
  notifier: CommitNotifier;
  pageSize: number;
  /**
   * Also re-read this often while idle: another process may write the same
   * data without notifying us. Omitted: only notifications wake the reader.
   */
  pollIntervalMs?: number;
}

/**
 * `subscribeAll` for stores whose reads are cheap and whose positions only
 * grow in commit order: read a page, hand it out one event at a time, and
 * when caught up wait for a commit (or the poll timer) before reading again.
 * At most one page is held, so a slow consumer slows reading instead of
 * growing a buffer. Ends, without leaving timers or listeners behind, when
 * the signal aborts, the consumer returns, or the store closes.
 */
export async function* pagedSubscription<E extends { position: string }>(
  source: PagedSource<E>,
  options: SubscribeAllOptions = {},
): AsyncGenerator<E, void, undefined> {
  const { signal } = options;
  let after = options.after;
  while (!signal?.aborted && !source.notifier.closed) {
    const seenCommits = source.notifier.commits;
    const page = source.readPage(after, source.pageSize);
    for (const event of page) {
      // The consumer may have aborted, or closed the store, while holding
      // the previous event.
      if (signal?.aborted || source.notifier.closed) return;
      yield event;
      after = event.position;
    }
    if (page.length < source.pageSize) {
      await source.notifier.waitForCommit(
        seenCommits,
        signal,
        source.pollIntervalMs,
      );
    }
  }
}
