import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import { FleetProjection, type StatusCounts } from '../../src/fleet/fleet.projection.js';
import { ProjectionRunner } from '../../src/read-models/projection-runner.js';
import { openReadModelDatabase } from '../../src/read-models/read-model.database.js';
import type { FleetLedger } from './fleet-ledger.js';
import { figure, log, spread, summarize, timeTasks, timingOf, type Figure } from './harness.js';

/*
 * Fleet counts as of a moment at scale (issue 14, point 3): the count
 * timeline beside the way the fleet read model answered before it, on the
 * same ledger, in the same run.
 *
 * "Today" is the fleet projection with its timeline switched off, plus the
 * index its former count query read (fleet_intervals_by_time, built once
 * caught up, as a query index was), queried with that former statement:
 * the intervals that hold the moment, counted by status.
 */

/** The former count query and its index, as the fleet read model had them before the timeline. */
const TODAY_INDEX = 'CREATE INDEX fleet_intervals_by_time ON fleet_intervals (valid_from, valid_to, status)';
const TODAY_COUNT = `SELECT status, count(*) AS n FROM (
    SELECT status FROM fleet_intervals WHERE valid_from <= ? AND valid_to > ? LIMIT -1
  ) GROUP BY status`;

const NO_TIMELINE = { add() {}, flush() {}, discard() {}, reset() {} };

/** setTimeout's longest wait: catching up takes as long as it takes. */
const NO_TIMEOUT = 2 ** 31 - 1;

type Variant = 'today' | 'timeline';

/**
 * Builds the fleet read model alone from the whole ledger into `file`, as
 * `projections:rebuild` does (a disposable file, the runner's catch-up in
 * pages, query indexes dropped and built once caught up). Returns ms.
 */
async function buildFleet(ledgerDir: string, file: string, variant: Variant): Promise<{ ms: number; events: number }> {
  rmSync(file, { force: true });
  const store = new SqliteEventStore(join(ledgerDir, 'ledger.db'));
  const db = openReadModelDatabase(file, { disposable: true });
  const fleet = new FleetProjection(db);
  // Bench-only: the projection as it was before the timeline, every other step the same.
  if (variant === 'today') Object.assign(fleet as unknown as { timeline: unknown }, { timeline: NO_TIMELINE });
  const runner = new ProjectionRunner(store, [{ name: 'fleet', db, projections: [fleet] }]);
  const start = performance.now();
  try {
    runner.onApplicationBootstrap();
    if (!(await runner.catchUp(NO_TIMEOUT))) throw new Error(`the ${variant} fleet build stopped`);
    await runner.beforeApplicationShutdown(); // builds the query indexes
    if (variant === 'today') db.exec(TODAY_INDEX);
    return { ms: performance.now() - start, events: runner.ordinal };
  } finally {
    runner.onApplicationShutdown(); // closes db
    await store.close();
  }
}

export async function fleetCountsAtScale(
  ledgerDir: string,
  fleet: FleetLedger,
  options: { builds: number; iterations: number; rounds: number; pick: () => number },
): Promise<Figure[]> {
  const files: Record<Variant, string> = {
    today: join(ledgerDir, 'fleet-today.db'),
    timeline: join(ledgerDir, 'fleet-timeline.db'),
  };
  const sites = fleet.sites.toLocaleString('en-US');
  const events = fleet.events.toLocaleString('en-US');

  // Builds alternate, and which goes first alternates, so both share whatever the machine does.
  const builds: Record<Variant, number[]> = { today: [], timeline: [] };
  for (let i = 0; i < options.builds; i += 1) {
    const order: Variant[] = i % 2 === 0 ? ['today', 'timeline'] : ['timeline', 'today'];
    for (const variant of order) {
      const { ms, events: applied } = await buildFleet(ledgerDir, files[variant], variant);
      if (applied !== fleet.events) throw new Error(`the fleet build applied ${applied} of ${fleet.events} events`);
      builds[variant].push(ms);
      log(`${sites} sites: fleet read model built (${variant}) in ${(ms / 1000).toFixed(1)} s`);
    }
  }
  const built = { today: summarize('today', builds.today), timeline: summarize('timeline', builds.timeline) };

  const today = openReadModelDatabase(files.today);
  const withTimeline = openReadModelDatabase(files.timeline);
  try {
    const counts = new FleetProjection(withTimeline);
    const former = today.prepare<[number, number], { status: keyof StatusCounts; n: number }>(TODAY_COUNT);
    const countToday = (atMs: number): StatusCounts => {
      const result: StatusCounts = { active: 0, suspended: 0, deleted: 0, purged: 0 };
      for (const { status, n } of former.all(atMs, atMs)) result[status] = n;
      return result;
    };
    // Both answer the same at every moment asked, or the figures mean nothing.
    const moments = Array.from({ length: 64 }, options.pick);
    for (const atMs of [...moments, fleet.fromMs - 1, fleet.toMs]) {
      const [a, b] = [JSON.stringify(counts.countByStatus(atMs)), JSON.stringify(countToday(atMs))];
      if (a !== b) throw new Error(`at ${new Date(atMs).toISOString()} the timeline counts ${a}, the intervals ${b}`);
    }
    let turn = 0;
    const next = () => moments[turn++ % moments.length]!;
    const names = { timeline: `timeline ${sites}`, today: `today ${sites}` };
    const timings = await timeTasks(
      [
        { name: names.timeline, run: () => void counts.countByStatus(next()) },
        { name: names.today, run: () => void countToday(next()) },
      ],
      { iterations: options.iterations, warmup: 3, rounds: options.rounds },
    );
    const ours = timingOf(timings, names.timeline);
    const before = timingOf(timings, names.today);
    log(
      `${sites} sites: stats as of a moment ${ours.medianMs.toFixed(3)} ms (p99 ${ours.p99Ms.toFixed(3)}), today ${before.medianMs.toFixed(1)} ms; ` +
        `fleet build ${(built.timeline.medianMs / 1000).toFixed(1)} s, today ${(built.today.medianMs / 1000).toFixed(1)} s`,
    );
    const buckets = (
      withTimeline.prepare('SELECT count(*) FROM fleet_count_buckets').pluck().get() as number
    ).toLocaleString('en-US');
    return [
      figure({
        name: `fleet stats as of a random time, ${sites} sites (${events} events): count timeline`,
        value: ours.medianMs,
        unit: 'ms',
        baseline: before.medianMs,
        baselineName: 'today: count the intervals that hold the moment (fleet_intervals_by_time), same ledger',
        better: 'lower',
        target: 'under 100 ms at 1,000,000 sites (ideally ~1 ms), flat from 100,000',
        targetCheck: (f) => f.value < 100 && ours.p99Ms < 100,
        note: `${spread(ours)}, p99 ${ours.p99Ms.toFixed(3)} ms; today ${spread(before)}, p99 ${before.p99Ms.toFixed(1)} ms; FleetProjection.countByStatus, ${buckets} bucket rows; both equal at 66 moments`,
      }),
      figure({
        name: `fleet read model build from ${events} events (${sites} sites), with the count timeline`,
        value: (fleet.events / built.timeline.medianMs) * 1000,
        unit: 'events/s',
        baseline: (fleet.events / built.today.medianMs) * 1000,
        baselineName: 'today: the same build without the timeline, plus fleet_intervals_by_time once caught up',
        better: 'higher',
        note: `median of ${builds.timeline.length} builds each, alternating: ${builds.timeline.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s vs today ${builds.today.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s; the fleet projection alone, through ProjectionRunner into a disposable file`,
      }),
    ];
  } finally {
    today.close();
    withTimeline.close();
    for (const file of Object.values(files)) rmSync(file, { force: true });
  }
}
