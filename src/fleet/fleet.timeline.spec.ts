import fc from 'fast-check';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SiteStatus } from '../sites/domain/site.events.js';
import { openReadModelDatabase } from '../read-models/read-model.database.js';
import {
  bucketOf,
  FANOUT,
  FleetCountTimeline,
  prefixRanges,
  SITE_STATUSES,
  TOP,
  type StatusCounts,
} from './fleet.timeline.js';

/** Every instant a Date can hold, in ms since the epoch. */
const DATE_LIMIT = 8.64e15;
const instant = fc.integer({ min: -DATE_LIMIT, max: DATE_LIMIT });
/** Instants around 2026, a few ms to a few years apart: where bucket edges of every level get crossed. */
const nearby = fc.integer({ min: 0, max: 2 ** 37 }).map((offset) => Date.UTC(2026, 0, 1) + offset - 2 ** 36);

/** The ranges of prefixRanges(atMs) that hold instant `ms`. */
const rangesHolding = (atMs: number, ms: number) =>
  prefixRanges(atMs).filter(({ level, from, to }) => {
    const bucket = bucketOf(ms, level);
    return from <= bucket && bucket <= to;
  });

describe('prefixRanges', () => {
  it('holds every instant at or before the moment exactly once, and no later one', () => {
    fc.assert(
      fc.property(fc.oneof(instant, nearby), fc.oneof(instant, nearby, fc.integer({ min: -40, max: 40 })), (at, x) => {
        // Small x: an instant near the moment, on either side.
        const ms = Math.abs(x) <= 40 ? Math.min(DATE_LIMIT, Math.max(-DATE_LIMIT, at + x)) : x;
        expect(rangesHolding(at, ms)).toHaveLength(ms <= at ? 1 : 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads at most FANOUT − 1 buckets per level below the top, and a few at the top, for any instant', () => {
    fc.assert(
      fc.property(instant, (at) => {
        const ranges = prefixRanges(at);
        expect(ranges.map(({ level }) => level)).toEqual(Array.from({ length: TOP + 1 }, (_, level) => level));
        for (const { from, to } of ranges.slice(0, TOP)) expect(to - from + 1).toBeLessThanOrEqual(FANOUT - 1);
        expect([-1, 0]).toContain(bucketOf(at, TOP));
      }),
    );
  });

  it('a fractional moment means its whole millisecond', () => {
    expect(prefixRanges(1000.7)).toEqual(prefixRanges(1000));
  });
});

describe('FleetCountTimeline', () => {
  let db: Database.Database;
  let timeline: FleetCountTimeline;
  beforeEach(() => {
    db = openReadModelDatabase(':memory:');
    timeline = new FleetCountTimeline(db);
  });
  afterEach(() => db.close());

  interface Delta {
    ms: number;
    status: SiteStatus;
    delta: number;
  }
  const naive = (deltas: readonly Delta[], atMs: number): StatusCounts => {
    const counts: StatusCounts = { active: 0, suspended: 0, deleted: 0, purged: 0 };
    for (const { ms, status, delta } of deltas) if (ms <= atMs) counts[status] += delta;
    return counts;
  };

  it('sums every delta at or before the moment, whatever order they came in and however they were flushed', () => {
    const time = fc.oneof(
      fc.integer({ min: 0, max: 40 }), // equal and neighbouring instants
      nearby,
      instant,
    );
    const delta = fc.record({
      ms: time,
      status: fc.constantFrom(...SITE_STATUSES),
      delta: fc.constantFrom(1, -1, 2),
      // Mostly long batches: flush writes most buckets several to a statement.
      flushAfter: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    });
    fc.assert(
      fc.property(fc.array(delta, { maxLength: 60 }), fc.array(time, { maxLength: 10 }), (deltas, moments) => {
        timeline.reset();
        for (const { ms, status, delta, flushAfter } of deltas) {
          timeline.add(ms, status, delta);
          if (flushAfter) timeline.flush();
        }
        timeline.flush();
        const probes = [...moments, ...deltas.flatMap(({ ms }) => [ms - 1, ms, ms + 1]), -DATE_LIMIT, DATE_LIMIT];
        for (const at of probes) expect(timeline.countsAt(at), `at ${at}`).toEqual(naive(deltas, at));
      }),
      { numRuns: 300 },
    );
  });

  it('writes nothing until flushed, and nothing of what was discarded', () => {
    timeline.add(10, 'active', 1);
    expect(timeline.countsAt(10)).toEqual({ active: 0, suspended: 0, deleted: 0, purged: 0 });
    timeline.discard();
    timeline.flush();
    expect(timeline.countsAt(10)).toEqual({ active: 0, suspended: 0, deleted: 0, purged: 0 });
    timeline.add(10, 'active', 1);
    timeline.flush();
    expect(timeline.countsAt(10)).toEqual({ active: 1, suspended: 0, deleted: 0, purged: 0 });
  });

  it('a batch sums its deltas per bucket: one row per bucket its instants fall in, at each level', () => {
    const start = Date.UTC(2026, 0, 1);
    const times = Array.from({ length: 1000 }, (_, i) => start + i * 10);
    for (const ms of times) timeline.add(ms, 'active', 1);
    timeline.flush();
    const rows = db.prepare('SELECT level, count(*) AS n FROM fleet_count_buckets GROUP BY level').all() as {
      level: number;
      n: number;
    }[];
    expect(rows).toHaveLength(TOP + 1);
    for (const { level, n } of rows) expect(n).toBe(new Set(times.map((ms) => bucketOf(ms, level))).size);
    expect(timeline.countsAt(start + 9990)).toEqual({ active: 1000, suspended: 0, deleted: 0, purged: 0 });
  });
});
