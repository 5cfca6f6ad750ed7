import type { NewEvent, StoredEvent } from './event-envelope.js';

/** One stream's part of an append. */
export interface StreamAppend {
  streamId: string;
  /**
   * The version the stream must be at: 0 for a stream that must not exist
   * yet, n after its n-th event. There is no "any version": every append
   * names its predecessor, which is what keeps the hash chain single.
   */
  expectedVersion: number;
  events: readonly NewEvent[];
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after the append (its last event's version). */
  nextVersion: number;
  /**
   * Global position of the last event appended. After an empty append
   * (a version check only) nothing was appended: the value is then only a
   * reference point (the stream's last position, or the store's "before
   * everything" position for a stream that does not exist) — do not resume
   * from it. It is always a valid position of the store.
   */
  position: string;
}

export interface ReadStreamOptions {
  /** Only events with a version greater than this (default 0: from the start). */
  afterVersion?: number;
  /** Only events up to and including this version. */
  toVersion?: number;
  /**
   * Only events whose `metadata.occurredAt` is at or before this ISO time,
   * compared as instants: `…T10:00:00Z`, `…T10:00:00.000Z` and
   * `…T11:00:00+01:00` are the same time.
   */
  toTime?: string;
  /** At most this many events. */
  limit?: number;
}

export interface ReadAllOptions {
  /** Only events after this position (exclusive); omitted: from the start. */
  after?: string;
  /** At most this many events (the adapter may cap it). */
  limit: number;
}

export interface SubscribeAllOptions {
  /** Deliver events after this position (exclusive); omitted: from the start. */
  after?: string;
  /** Ends the subscription; the iterator then returns. */
  signal?: AbortSignal;
}

/**
 * The ledger's event store. Every adapter behaves the same way, which
 * `describeEventStoreContract` checks; nothing on this interface depends on
 * the engine behind it.
 *
 * - Streams are append-only. Versions count events: a stream that does not
 *   exist is at version 0, its first event has version 1.
 * - Appends seal events into the stream's SHA-256 hash chain (see
 *   `event-envelope.ts`); callers pass unsealed events.
 * - Event ids are lowercase RFC 4122 UUIDs written 8-4-4-4-12 (version 1-8,
 *   variant 10xx, so never the nil UUID), as `crypto.randomUUID()` makes
 *   them. Any other spelling would not survive every engine unchanged and
 *   would break the event's hash, so it throws `InvalidEventIdError` before
 *   any I/O. Ids are distinct within one call (`DuplicateEventIdError`) and
 *   must be unique ledger-wide: make them random. An adapter that can see a
 *   stored id cheaply refuses it again with `DuplicateEventIdError`.
 * - The global order is the commit order; positions are opaque strings that
 *   only the issuing store can read and order (`isPosition`,
 *   `comparePositions`). A string it did not issue throws
 *   `InvalidPositionError` wherever a position is accepted. Events appended
 *   together appear together and in the given order.
 * - An acknowledged append is durable.
 * - Concurrent appends are independent: an adapter may commit them
 *   together (group commit: one transaction, one flush), but each is checked
 *   against its own expected versions, succeeds or fails alone, and is
 *   answered only once it is durable; their positions follow the order in
 *   which they are answered.
 * - Retry rule: an append whose events are already, one for one and in
 *   order, the stream's events right after `expectedVersion` (an earlier
 *   attempt committed but its answer was lost) succeeds without writing
 *   anything and answers as that attempt would have.
 * - Errors are those of `event-store.errors.ts`; only
 *   `EventStoreUnavailableError` is worth retrying.
 * - No method ever returns a bigint or a native driver type.
 */
export interface EventStore {
  /**
   * Appends `events` to one stream if it is at `expectedVersion`.
   * An empty `events` only checks the version.
   * @throws WrongExpectedVersionError when the stream is at another version
   *   (nothing is written; see the retry rule above).
   * @throws InvalidEventIdError, DuplicateEventIdError before any I/O.
   */
  append(streamId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult>;

  /**
   * Appends to several streams, all or nothing. A stream may be named more
   * than once; each part continues where the previous one left it. Results
   * are in the order of `appends`. Arguments are checked, as for `append`,
   * before any I/O.
   * @throws WrongExpectedVersionError for the first stream not at its
   *   version; nothing is written.
   * @throws PartialAppendError only from an engine that cannot commit several
   *   streams at once and failed after committing some: it carries the
   *   results already committed, and the caller resumes from them (see
   *   `PartialAppendError`).
   */
  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]>;

  /** The stream's current version; 0 if it does not exist. */
  streamVersion(streamId: string): Promise<number>;

  /** The stream's events, oldest first, narrowed by `options`. A missing stream reads as []. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;

  /**
   * The ledger's events in global order, after `options.after`.
   * @throws InvalidPositionError if `after` is not one of this store's positions.
   */
  readAll(options: ReadAllOptions): Promise<StoredEvent[]>;

  /**
   * Every event after `options.after` in global order: first those already
   * stored (catch-up), then each new one as it is committed (live), without
   * gaps or repeats. Ends when `options.signal` aborts (delivering nothing
   * more, not even events already fetched), the consumer stops iterating, or
   * the store is closed; any other end is a failure
   * (`EventStoreUnavailableError` when resuming later may work), so a
   * consumer never mistakes a lost subscription for a quiet ledger. Consumers
   * pull, so a slow consumer slows delivery instead of growing a buffer.
   * @throws InvalidPositionError at the call (not at the first pull) if
   *   `after` is not one of this store's positions.
   */
  subscribeAll(options?: SubscribeAllOptions): AsyncIterable<StoredEvent>;

  /** Position of the last event in the global order; undefined when there is none. */
  lastPosition(): Promise<string | undefined>;

  /**
   * Whether `value` is a position this store could have issued, checked
   * without I/O. Use it on positions that come from outside (a request, a
   * file) before passing them on.
   */
  isPosition(value: string): boolean;

  /**
   * Orders two positions issued by this store (<0, 0, >0).
   * @throws InvalidPositionError if either is not one of this store's positions.
   */
  comparePositions(a: string, b: string): number;

  /** Throws if the store cannot serve requests (used by /health). */
  ping(): Promise<void>;

  /** Idempotent. Running subscriptions end; later calls fail with EventStoreUnavailableError. */
  close(): Promise<void>;
}

/** Nest injection token for the configured `EventStore`. */
export const EVENT_STORE = Symbol('EVENT_STORE');
