import type Database from 'better-sqlite3';
import type { SiteStatus } from '../sites/domain/site.events.js';

export const SITE_STATUSES: readonly SiteStatus[] = ['active', 'suspended', 'deleted', 'purged'];

export type StatusCounts = Record<SiteStatus, number>;

/**
 * Each bucket of a level spans FANOUT buckets of the level below. A wider
 * fanout writes fewer buckets per event and reads more per prefix: at 64, a
 * batch of events a few ms apart writes about one bucket per event in all,
 * and a prefix reads at most 63 per level, a few hundred rows (on the
 * bench's fleet, 16 took twice as long to write, for reads no faster).
 */
export const FANOUT = 64;

/**
 * Levels run from 0 (buckets of 1 ms) to TOP (buckets of 64^9 ms = 2^54 ms,
 * about 570,000 years). Every instant a Date can hold (±8.64e15 ms) lies in
 * one of the two top buckets, so the top level, which a prefix reads whole
 * below its bucket, is at most two rows.
 */
export const TOP = 9;

const SPANS = Array.from({ length: TOP + 1 }, (_, level) => FANOUT ** level);

/** The bucket holding instant `ms` (ms since the epoch) at `level`. Exact: a division by a power of two. */
export function bucketOf(ms: number, level: number): number {
  return Math.floor(ms / SPANS[level]!);
}

/** Buckets `from` to `to` (both included; empty when from > to) of one level. */
export interface BucketRange {
  level: number;
  from: number;
  to: number;
}

/**
 * Buckets that together hold every instant at or before `atMs` and no other,
 * none overlapping another: below the top, at most FANOUT − 1 per level (the
 * earlier siblings of the bucket the end falls in); at the top, every bucket
 * before the end's. Each is one range of the primary key.
 */
export function prefixRanges(atMs: number): BucketRange[] {
  // The first instant not included: instants are whole milliseconds.
  const end = Math.floor(atMs) + 1;
  const ranges: BucketRange[] = [];
  for (let level = 0; level < TOP; level += 1) {
    ranges.push({ level, from: bucketOf(end, level + 1) * FANOUT, to: bucketOf(end, level) - 1 });
  }
  ranges.push({ level: TOP, from: Number.MIN_SAFE_INTEGER, to: bucketOf(end, TOP) - 1 });
  return ranges;
}

const COLUMN: Record<SiteStatus, number> = { active: 0, suspended: 1, deleted: 2, purged: 3 };

/** Buckets written per statement by `flush`: one call per row would cost more than the row. */
const ROWS_PER_WRITE = 64;

/**
 * How many sites were in each status at any instant, answered in
 * O(log time) whatever the fleet's size or the length of its history.
 *
 * The fleet at instant T is, per site, the interval of its history that
 * holds T (see FleetProjection). So each interval adds +1 to its status at
 * its start and −1 at its end, and the count of a status at T is the sum
 * of its deltas up to T. An interval whose end comes before its start (a
 * stream whose `occurredAt` went backwards: the service never writes one,
 * the store accepts it) holds at no instant; FleetProjection then puts its
 * −1 at its start, where the two cancel.
 *
 * Deltas arrive in global order, but `occurredAt` only grows per stream
 * (nextEventTime): across streams a later commit may carry an earlier time
 * (two writers stamp, then commit in the other order; instances whose clocks
 * differ). Running totals in arrival order are then no prefix sums in time,
 * and running totals keyed by time would rewrite every later row for each
 * late delta. So the deltas are summed into aligned buckets of time at
 * every level of a sparse tree of fanout FANOUT over the millisecond axis:
 * bucket k of level ℓ holds the sum of the deltas in
 * [k·FANOUT^ℓ, (k+1)·FANOUT^ℓ). A delta adds to one bucket per level,
 * in whatever order it comes; a prefix is read from at most
 * (FANOUT − 1)·TOP + 1 rows (prefixRanges).
 *
 * Deltas wait in memory and are summed per bucket until `flush`, which the
 * projection runner calls once per batch inside its transaction: events of
 * a batch lie close in time, so a level's bucket is written once per batch,
 * not once per event, and the upper levels almost never.
 */
export class FleetCountTimeline {
  /** Per level, bucket → deltas by status (COLUMN order), not yet written. */
  private pending = emptyPending();
  /** Adds to ROWS_PER_WRITE buckets at once. */
  private readonly addToBuckets: Database.Statement<number[]>;
  /** Adds to one bucket. */
  private readonly addToBucket: Database.Statement<number[]>;
  private readonly sumPrefix: Database.Statement<number[], StatusCounts>;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS fleet_count_buckets (
      level INTEGER NOT NULL,
      bucket INTEGER NOT NULL,
      active INTEGER NOT NULL,
      suspended INTEGER NOT NULL,
      deleted INTEGER NOT NULL,
      purged INTEGER NOT NULL,
      PRIMARY KEY (level, bucket)
    ) STRICT, WITHOUT ROWID`);
    const addTo = (rows: number) =>
      db.prepare<number[]>(
        `INSERT INTO fleet_count_buckets (level, bucket, active, suspended, deleted, purged)
         VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (level, bucket) DO UPDATE SET active = active + excluded.active,
           suspended = suspended + excluded.suspended, deleted = deleted + excluded.deleted,
           purged = purged + excluded.purged`,
      );
    this.addToBuckets = addTo(ROWS_PER_WRITE);
    this.addToBucket = addTo(1);
    // One primary-key range per level, summed in one statement.
    const ranges = Array.from(
      { length: TOP + 1 },
      () =>
        'SELECT active, suspended, deleted, purged FROM fleet_count_buckets WHERE level = ? AND bucket BETWEEN ? AND ?',
    ).join(' UNION ALL ');
    this.sumPrefix = db.prepare(
      `SELECT coalesce(sum(active), 0) AS active, coalesce(sum(suspended), 0) AS suspended,
         coalesce(sum(deleted), 0) AS deleted, coalesce(sum(purged), 0) AS purged
       FROM (${ranges})`,
    );
  }

  /** Adds `delta` sites to `status` from instant `ms` (ms since the epoch) on. Written by `flush`. */
  add(ms: number, status: SiteStatus, delta: number): void {
    const column = COLUMN[status];
    for (let level = 0; level <= TOP; level += 1) {
      const buckets = this.pending[level]!;
      const bucket = bucketOf(ms, level);
      let sums = buckets.get(bucket);
      if (sums === undefined) {
        sums = [0, 0, 0, 0];
        buckets.set(bucket, sums);
      }
      sums[column]! += delta;
    }
  }

  /** Writes what `add` kept. Call it inside the transaction of the events that added it. */
  flush(): void {
    // Taken first: if a write fails, the transaction rolls back and the events are applied again.
    const pending = this.pending;
    this.pending = emptyPending();
    // ROWS_PER_WRITE buckets per statement, the last few one by one.
    const values: number[] = [];
    pending.forEach((buckets, level) => {
      for (const [bucket, [active, suspended, deleted, purged]] of buckets) {
        if (active === 0 && suspended === 0 && deleted === 0 && purged === 0) continue;
        values.push(level, bucket, active!, suspended!, deleted!, purged!);
        if (values.length === ROWS_PER_WRITE * 6) {
          this.addToBuckets.run(...values);
          values.length = 0;
        }
      }
    });
    for (let row = 0; row < values.length; row += 6) this.addToBucket.run(...values.slice(row, row + 6));
  }

  /** Forgets what `add` kept and `flush` has not written (their transaction failed). */
  discard(): void {
    this.pending = emptyPending();
  }

  reset(): void {
    this.db.exec('DELETE FROM fleet_count_buckets');
    this.discard();
  }

  /** How many sites were in each status at `atMs` (ms since the epoch), as far as flushed. */
  countsAt(atMs: number): StatusCounts {
    return this.sumPrefix.get(...prefixRanges(atMs).flatMap(({ level, from, to }) => [level, from, to]))!;
  }
}

function emptyPending(): Map<number, number[]>[] {
  return Array.from({ length: TOP + 1 }, () => new Map<number, number[]>());
}
