import { LRUCache } from 'lru-cache';
import { deepFreeze } from '../common/deep-freeze.js';
import { heapBytesOfJson, MiB } from '../common/heap-size.js';
import type { StreamHead } from '../event-store/event-envelope.js';
import type { SiteState } from './domain/site.state.js';

/**
 * A site's state folded from the first `version` events of its stream,
 * with contacts still sealed as stored. Events never change once stored,
 * so a fold keyed by stream version stays true for good: it is a cache of
 * replaying the prefix, never a second source of truth.
 */
export interface SiteCheckpoint {
  version: number;
  /** Contacts sealed: plaintext personal data never enters the cache (crypto-shredding). */
  state: SiteState;
  /** `occurredAt` of event `version` (undefined at version 0). */
  lastOccurredAt: string | undefined;
  /** The hash of event `version`, verified when it was folded: a read that starts here checks the chain on from it. */
  hash: string;
  /**
   * The latest `occurredAt` among events 1..version, in ms. A read "as of
   * T" may start from this checkpoint only if every event it covers
   * happened at or before T, whatever order their times are in.
   */
  maxOccurredAtMs: number;
  /** Whether `occurredAt` never went backwards over events 1..version (the service always writes them so). */
  inTimeOrder: boolean;
}

/** Where a read as of a time may stop early (see timeBoundOf). */
export interface TimeBound {
  /** Every event from this version up to `newest` happened after the time: no need to read them. */
  skipFrom: number;
  /** The newest known fold (verified); events after it are unknown and must still be read, its hash on. */
  newest: StreamHead;
}

/** What timeBoundOf needs of a checkpoint (cached or a snapshot). */
export type FoldPoint = Pick<SiteCheckpoint, 'version' | 'hash' | 'maxOccurredAtMs' | 'inTimeOrder'>;

/**
 * For a read as of `toTimeMs`: the store filters by time row by row, so
 * without a bound it visits every later event of the stream (10,000 rows
 * for an early moment of a 10,000-event stream). When the newest known
 * fold's events happened in time order and some after the moment, the
 * first fold past the moment (`firstPast`: the lowest version whose
 * maxOccurredAtMs is after it) bounds them: that fold's last event and
 * every one up to the newest happened after the moment. Undefined when no
 * such bound is known (the read then visits everything).
 */
export function timeBoundOf(
  newest: FoldPoint | undefined,
  firstPast: FoldPoint | undefined,
  toTimeMs: number,
): TimeBound | undefined {
  if (newest === undefined || firstPast === undefined || !newest.inTimeOrder) return undefined;
  if (!(newest.maxOccurredAtMs > toTimeMs) || !(firstPast.maxOccurredAtMs > toTimeMs)) return undefined;
  if (firstPast.version > newest.version) return undefined;
  return { skipFrom: firstPast.version, newest: { version: newest.version, hash: newest.hash } };
}

/**
 * Two bounds of one read taken together: each says its events from
 * `skipFrom` to its newest happened after the moment, and the newer one's
 * events are in time order up to it, so everything from the lower
 * `skipFrom` to the newer `newest` happened after the moment too.
 */
export function widestBound(a: TimeBound | undefined, b: TimeBound | undefined): TimeBound | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return {
    skipFrom: Math.min(a.skipFrom, b.skipFrom),
    newest: a.newest.version >= b.newest.version ? a.newest : b.newest,
  };
}

export interface FoldCacheLimits {
  /** Keep a checkpoint every this many versions of a long stream. */
  interval: number;
  /** At most this many bytes of checkpoints in all (heapBytesOfJson of each state); the least recently used streams go first. */
  maxBytes: number;
}

export const DEFAULT_FOLD_CACHE_LIMITS: FoldCacheLimits = { interval: 128, maxBytes: 64 * MiB };

/** What a checkpoint holds on the heap, estimated once when it is kept. */
const bytesOf = new WeakMap<SiteCheckpoint, number>();
export const checkpointBytes = (checkpoint: SiteCheckpoint): number =>
  heapBytesOfJson(JSON.stringify(checkpoint.state).length);

/**
 * Checkpoints of site folds, so loading a long stream, or reading it as of
 * any moment, replays at most `interval` events instead of all of them.
 * Per stream it keeps one checkpoint every `interval` versions and the
 * newest one; streams are evicted least recently used first.
 *
 * States are deep-frozen when cached: a caller that tried to change one
 * would throw instead of corrupting every later answer.
 */
export class SiteFoldCache {
  /** Each stream's checkpoints, oldest first; the cache's size is their estimated bytes in all. */
  readonly #streams: LRUCache<string, SiteCheckpoint[]>;

  constructor(readonly limits: FoldCacheLimits = DEFAULT_FOLD_CACHE_LIMITS) {
    this.#streams = new LRUCache({
      maxSize: limits.maxBytes,
      sizeCalculation: (checkpoints) =>
        checkpoints.reduce((bytes, checkpoint) => bytes + (bytesOf.get(checkpoint) ?? checkpointBytes(checkpoint)), 0),
    });
  }

  /** How many checkpoints are held (for tests). */
  get size(): number {
    let count = 0;
    for (const checkpoints of this.#streams.values()) count += checkpoints.length;
    return count;
  }

  /** The bytes they are estimated to hold. */
  get bytes(): number {
    return this.#streams.calculatedSize;
  }

  /**
   * The newest checkpoint a read up to `toVersion` and `toTimeMs` may start
   * from: version ≤ toVersion and every event it covers at or before toTimeMs.
   */
  best(siteId: string, toVersion: number, toTimeMs: number): SiteCheckpoint | undefined {
    const checkpoints = this.#streams.get(siteId);
    if (checkpoints === undefined) return undefined;
    // Both version and maxOccurredAtMs grow along the array: the last that fits wins.
    for (let i = checkpoints.length - 1; i >= 0; i -= 1) {
      const checkpoint = checkpoints[i]!;
      if (checkpoint.version <= toVersion && checkpoint.maxOccurredAtMs <= toTimeMs) return checkpoint;
    }
    return undefined;
  }

  /** For a read as of `toTimeMs`, the events the cached checkpoints show happened after it (see timeBoundOf). */
  timeBound(siteId: string, toTimeMs: number): TimeBound | undefined {
    const checkpoints = this.#streams.peek(siteId);
    if (checkpoints === undefined) return undefined;
    const firstPast = checkpoints.find((checkpoint) => checkpoint.maxOccurredAtMs > toTimeMs);
    return timeBoundOf(checkpoints.at(-1), firstPast, toTimeMs);
  }

  /** Whether a fold that reached `version` is worth keeping (every interval, or as the newest). */
  wants(siteId: string, version: number): boolean {
    if (version % this.limits.interval === 0) return true;
    const newest = this.#streams.peek(siteId)?.at(-1);
    return newest === undefined || newest.version < version;
  }

  /** Keeps a checkpoint (the caller folded events 1..version, contacts sealed). */
  put(siteId: string, checkpoint: SiteCheckpoint): void {
    if (!this.wants(siteId, checkpoint.version)) return;
    const checkpoints = [...(this.#streams.peek(siteId) ?? [])];
    const at = checkpoints.findIndex((each) => each.version >= checkpoint.version);
    if (at !== -1 && checkpoints[at]!.version === checkpoint.version) {
      this.#streams.get(siteId); // used just now
      return;
    }
    deepFreeze(checkpoint);
    bytesOf.set(checkpoint, checkpointBytes(checkpoint));
    if (at === -1) checkpoints.push(checkpoint);
    else checkpoints.splice(at, 0, checkpoint);
    // Only interval checkpoints and the newest one stay.
    const kept = checkpoints.filter(
      (each, index) => index === checkpoints.length - 1 || each.version % this.limits.interval === 0,
    );
    this.#streams.set(siteId, kept);
  }

  clear(): void {
    this.#streams.clear();
  }
}
