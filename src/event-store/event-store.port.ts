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
   * reference point (sqlite and memory give the stream's last position, or
   * `'0'` for a stream that does not exist) — do not resume from it.
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

export type EventStoreKind = 'sqlite' | 'eventstoredb' | 'memory';

/**
 * The ledger's event store. Every adapter behaves the same way, which
 * `describeEventStoreContract` checks:
 *
 * - Streams are append-only. Versions count events: a stream that does not
 *   exist is at version 0, its first event has version 1.
 * - Appends seal events into the stream's SHA-256 hash chain (see
 *   `event-envelope.ts`); callers pass unsealed events.
 * - The global order is the commit order; positions are opaque strings that
 *   only the issuing store can order. Events appended together appear
 *   together and in the given order.
 * - An acknowledged append is durable.
 * - No method ever returns a bigint or a native driver type.
 */
export interface EventStore {
  readonly kind: EventStoreKind;

  /**
   * Appends `events` to one stream if it is at `expectedVersion`.
   * An empty `events` only checks the version.
   * @throws WrongExpectedVersionError when the stream is at another version
   *   (nothing is written).
   */
  append(streamId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult>;

  /**
   * Appends to several streams. `sqlite` and `memory` commit all streams in
   * one transaction (all or nothing); `eventstoredb` appends stream by stream,
   * so after a failure earlier streams may already be written — callers
   * that need all-or-nothing there must be able to resume (operations do).
   * Results are in the order of `appends`.
   * @throws WrongExpectedVersionError for the first stream not at its version.
   */
  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]>;

  /** The stream's current version; 0 if it does not exist. */
  streamVersion(streamId: string): Promise<number>;

  /** The stream's events, oldest first, narrowed by `options`. A missing stream reads as []. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;

  /** The ledger's events in global order, after `options.after`. */
  readAll(options: ReadAllOptions): Promise<StoredEvent[]>;

  /**
   * Every event after `options.after` in global order: first those already
   * stored (catch-up), then each new one as it is committed (live), without
   * gaps or repeats. Ends when `options.signal` aborts (delivering nothing
   * more, not even events already fetched), the consumer stops iterating, or
   * the store is closed. Consumers pull, so a slow consumer slows delivery
   * instead of growing a buffer.
   */
  subscribeAll(options?: SubscribeAllOptions): AsyncIterable<StoredEvent>;

  /** Position of the last event in the global order; undefined when there is none. */
  lastPosition(): Promise<string | undefined>;

  /** Orders two positions issued by this store (<0, 0, >0). */
  comparePositions(a: string, b: string): number;

  /** Throws if the store cannot serve requests (used by /health). */
  ping(): Promise<void>;

  close(): Promise<void>;
}

/** Nest injection token for the configured `EventStore`. */
export const EVENT_STORE = Symbol('EVENT_STORE');
