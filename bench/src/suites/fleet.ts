import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { QueryBus } from '@nestjs/cqrs';
import Database from 'better-sqlite3';
import { GetFleetStatsQuery, ListSitesQuery } from '../../../src/fleet/fleet.queries.js';
import { ProjectionRunner } from '../../../src/read-models/projection-runner.js';
import { BENCH_TOKENS, benchConfig, benchEnv, startHttpService, startService } from '../app.js';
import {
  baselineRebuild,
  OUR_REBUILD,
  REBUILD_BASELINE_COMMIT,
  runRebuild,
  type RebuildRun,
} from '../rebuild-baseline.js';
import { fleetCountsAtScale } from '../fleet-counts.js';
import { writeFleetLedger, type FleetLedger } from '../fleet-ledger.js';
import {
  figure,
  log,
  spread,
  summarize,
  tempDir,
  timeTasks,
  timingOf,
  type Figure,
  type Omission,
  type SuiteOptions,
  type SuiteResult,
} from '../harness.js';

const STATUSES = ['active', 'suspended', 'deleted', 'purged'] as const;
/** What the as-of query figures leave warm: no cached answers, but cached pages. */
const WARM_PAGES =
  "warm pages: the service caches no query results, but one read-model connection answers every query, so SQLite's page cache and the OS file cache hold what earlier queries read (the raw baseline's likewise); a first query after a start is not measured";

/** A deterministic PRNG (mulberry32), so every run asks for the same moments. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What SQLite itself does for a fleet of this size with no history at
 * all: one row per site (current status, customer, the state as JSON) in
 * a plain table with an index on status. The baseline for the as-of
 * queries, which answer the same questions for any past moment.
 */
function plainFleetTable(dir: string, sites: number): Database.Database {
  const db = new Database(join(dir, 'plain-fleet.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE sites (site_ordinal INTEGER PRIMARY KEY, site_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    customer_id TEXT NOT NULL, state TEXT NOT NULL) STRICT;
    CREATE INDEX sites_by_status ON sites (status, site_ordinal)`);
  const insert = db.prepare('INSERT INTO sites VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < sites; i += 1) {
      const siteId = `fleet-${String(i).padStart(6, '0')}`;
      const status = STATUSES[i % 7 === 0 ? 1 : i % 11 === 0 ? 2 : 0]!;
      const state = {
        siteId,
        customerId: `cust-${i % 7750}`,
        name: `Site ${siteId}`,
        region: 'eu-west',
        internal: false,
        status,
        products: [{ installationId: `app-${siteId}`, productKey: 'webshop' }],
        deletionProtection: false,
        legalHold: null,
        retention: 'P30D',
        deletedAt: null,
        purgeAfter: null,
        purgedAt: null,
        version: 5,
        updatedAt: new Date().toISOString(),
      };
      insert.run(i + 1, siteId, status, state.customerId, JSON.stringify(state));
    }
  })();
  return db;
}

/** Reads a streaming response to its end (or `maxBytes`), counting bytes and keeping none. */
function drain(url: string, maxBytes = Number.POSITIVE_INFINITY): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${BENCH_TOKENS.viewer}` } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`${url}: HTTP ${response.statusCode}`));
        response.resume();
        return;
      }
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes >= maxBytes) {
          req.destroy();
          resolve(bytes);
        }
      });
      response.on('end', () => resolve(bytes));
      response.on('error', (error) => (bytes >= maxBytes ? resolve(bytes) : reject(error)));
    });
    req.on('error', (error) => (error.message.includes('aborted') ? undefined : reject(error)));
    req.end();
  });
}

/**
 * The live heap (after a full GC) sampled while `work` runs. The suite runs
 * with --expose-gc; a heap that stays flat while gigabytes stream by is
 * what "memory stays flat" means.
 */
async function heapWhile(
  work: () => Promise<number>,
): Promise<{ bytes: number; beforeMb: number; peakMb: number; rssGrowthMb: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const live = () => {
    gc?.();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const beforeMb = live();
  const rssBefore = process.memoryUsage().rss;
  let peakMb = beforeMb;
  let peakRss = rssBefore;
  const timer = setInterval(() => {
    peakMb = Math.max(peakMb, live());
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  try {
    const bytes = await work();
    return { bytes, beforeMb, peakMb: Math.max(peakMb, live()), rssGrowthMb: (peakRss - rssBefore) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const figures: Figure[] = [];
  const omissions: Omission[] = [];
  const facts: Record<string, string | number> = {};
  const data = tempDir('fleet');
  try {
    const sites = 100_000;
    const rounds = quick ? 2 : 10;
    const started = performance.now();
    const fleet: FleetLedger = await writeFleetLedger(data.dir, sites, rounds);
    facts['fleet ledger'] =
      `${fleet.sites.toLocaleString('en-US')} sites, ${fleet.events.toLocaleString('en-US')} events, written in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    log(facts['fleet ledger']);
    const config = benchConfig(data.dir);

    // Projection rebuild: npm run projections:rebuild in a child process, beside the same command at the
    // commit before this round (one thread, one read-model file), in interleaved rounds on this ledger.
    let rebuildRate: number | undefined;
    {
      const baseline = baselineRebuild(REBUILD_BASELINE_COMMIT);
      const env = benchEnv(data.dir);
      const runs: Record<'ours' | 'before', RebuildRun[]> = { ours: [], before: [] };
      const order: ('ours' | 'before')[] =
        'missing' in baseline ? ['ours'] : quick ? ['before', 'ours'] : ['ours', 'before', 'before', 'ours'];
      for (const who of order) {
        const run = await runRebuild(who === 'ours' ? OUR_REBUILD : (baseline as { script: string }).script, env);
        if (run.events !== fleet.events)
          throw new Error(`${who}: rebuild applied ${run.events} of ${fleet.events} events`);
        runs[who].push(run);
        log(`rebuild (${who}): ${(run.ms / 1000).toFixed(1)} s, ${run.cpuSeconds.toFixed(1)} s CPU`);
      }
      const ours = summarize(
        'rebuild',
        runs.ours.map(({ ms }) => ms),
      );
      rebuildRate = (fleet.events / ours.medianMs) * 1000;
      const cpu = (each: RebuildRun[]) =>
        summarize(
          'cpu',
          each.map(({ cpuSeconds }) => cpuSeconds),
        ).medianMs.toFixed(1);
      const name = `projection rebuild over ${fleet.events.toLocaleString('en-US')} events (all read models)`;
      if ('missing' in baseline)
        omissions.push({ name: `${name} vs the rebuild before this round`, reason: baseline.missing });
      else {
        const before = summarize(
          'rebuild before',
          runs.before.map(({ ms }) => ms),
        );
        figures.push(
          figure({
            name,
            value: rebuildRate,
            unit: 'events/s',
            baseline: (fleet.events / before.medianMs) * 1000,
            baselineName: `the same command at commit ${REBUILD_BASELINE_COMMIT}, before this round (one thread, one read-model file)`,
            better: 'higher',
            target: 'at least 2× the rebuild before this round (100,000 events/s in the long run)',
            targetCheck: (f) => (f.ratio ?? 0) >= 2,
            note:
              `ours ${spread(ours)}, ${cpu(runs.ours)} s CPU (user + system, every thread); before ${spread(before)}, ` +
              `${cpu(runs.before)} s CPU; npm run projections:rebuild in a child process, timed from spawn to exit ` +
              '(Node start, fresh files, catch-up, query indexes, fsync, swap); rounds alternate',
          }),
        );
      }
      // The floor: reading every event row in global order and parsing its JSON, the least any projection must do.
      const reads: number[] = [];
      for (let i = 0; i < (quick ? 1 : 2); i += 1) {
        const db = new Database(join(data.dir, 'ledger.db'), { readonly: true });
        const start = performance.now();
        let n = 0;
        for (const row of db.prepare('SELECT * FROM events ORDER BY position').iterate() as Iterable<{
          data: string;
          metadata: string;
        }>) {
          JSON.parse(row.data);
          JSON.parse(row.metadata);
          n += 1;
        }
        reads.push(performance.now() - start);
        db.close();
        if (n !== fleet.events) throw new Error(`read ${n} rows`);
      }
      const readTiming = summarize('read', reads);
      figures.push(
        figure({
          name: `${name} vs reading the ledger`,
          value: rebuildRate,
          unit: 'events/s',
          baseline: (fleet.events / readTiming.medianMs) * 1000,
          baselineName: 'raw better-sqlite3: read every event row in global order and parse its JSON (one thread)',
          better: 'higher',
          target: 'at least 100,000 events/s',
          targetCheck: (f) => f.value >= 100_000,
          note: `${spread(ours)}; raw read ${spread(readTiming)}`,
        }),
      );
    }

    // Start-up catch-up: the service started on this ledger without read-model files, until its runner is live
    // (one thread applies each batch to every file in turn; a rebuild builds the files side by side).
    {
      rmSync(join(data.dir, 'read-models'), { recursive: true, force: true });
      const start = performance.now();
      const app = await startService(config);
      try {
        const runner = app.get(ProjectionRunner);
        if (!(await runner.catchUp(2 ** 31 - 1))) throw new Error('the start-up catch-up stopped');
        while (runner.state !== 'live') await sleep(20); // the query indexes are built once caught up
        const ms = performance.now() - start;
        if (runner.ordinal !== fleet.events) throw new Error(`caught up ${runner.ordinal} of ${fleet.events} events`);
        log(`start-up catch-up: ${(ms / 1000).toFixed(1)} s`);
        figures.push(
          figure({
            name: `service start-up catch-up over ${fleet.events.toLocaleString('en-US')} events (no read-model files)`,
            value: (fleet.events / ms) * 1000,
            unit: 'events/s',
            baseline: rebuildRate,
            baselineName: 'npm run projections:rebuild over the same ledger (above, median)',
            better: 'higher',
            note: 'one sample; from creating the app (in process) until its runner is live, query indexes built',
          }),
        );
      } finally {
        await app.close();
      }
    }

    {
      const app = await startService(config);
      const plain = plainFleetTable(data.dir, sites);
      try {
        const queries = app.get(QueryBus);
        const next = random(42);
        const times = Array.from({ length: 64 }, () =>
          new Date(fleet.fromMs + Math.floor(next() * (fleet.toMs - fleet.fromMs))).toISOString(),
        );
        let turn = 0;
        const pick = () => times[turn++ % times.length]!;
        type Stats = { total: number; byStatus: Record<string, number> };
        type Page = { sites: unknown[] };
        const stats = (asOf: string) => queries.execute(new GetFleetStatsQuery(asOf) as never) as Promise<Stats>;
        const list = (asOf: string) =>
          queries.execute(new ListSitesQuery({ status: 'suspended' }, asOf, 100, undefined) as never) as Promise<Page>;
        // A sanity check: the as-of counts cover every site registered by then.
        const late = await stats(new Date(fleet.toMs).toISOString());
        if (late.total !== sites) throw new Error(`fleet stats count ${late.total} sites, not ${sites}`);
        const plainStats = plain.prepare('SELECT status, count(*) AS n FROM sites GROUP BY status');
        const plainPage = plain.prepare(
          'SELECT state FROM sites WHERE status = ? AND site_ordinal > ? ORDER BY site_ordinal LIMIT 101',
        );
        const names = { stats: 'stats ours', statsRaw: 'stats raw', list: 'list ours', listRaw: 'list raw' };
        const timings = await timeTasks(
          [
            { name: names.stats, run: async () => void (await stats(pick())) },
            { name: names.statsRaw, run: () => void plainStats.all() },
            { name: names.list, run: async () => void (await list(pick())) },
            {
              name: names.listRaw,
              run: () =>
                void (plainPage.all('suspended', 0) as { state: string }[]).map(
                  (row) => JSON.parse(row.state) as unknown,
                ),
            },
          ],
          { iterations: quick ? 20 : 64, warmup: 3, rounds: quick ? 1 : 2 },
        );
        const ours = timingOf(timings, names.stats);
        const oursList = timingOf(timings, names.list);
        log(
          `fleet stats asOf ${ours.medianMs.toFixed(1)} ms (p99 ${ours.p99Ms.toFixed(1)}), listing ${oursList.medianMs.toFixed(1)} ms`,
        );
        figures.push(
          figure({
            name: `fleet stats as of a random time, ${sites.toLocaleString('en-US')} sites`,
            value: ours.medianMs,
            unit: 'ms',
            baseline: timingOf(timings, names.statsRaw).medianMs,
            baselineName: 'raw SQLite: count a plain 100,000-row current-state table by status (no history)',
            better: 'lower',
            target: 'under 100 ms',
            targetCheck: (f) => f.value < 100 && ours.p99Ms < 100,
            note: `${spread(ours)}, p99 ${ours.p99Ms.toFixed(1)} ms; GetFleetStatsQuery from the count timeline of ${fleet.events.toLocaleString('en-US')} intervals; ${WARM_PAGES}`,
          }),
          figure({
            name: `fleet listing as of a random time, status=suspended, first 100 of ${sites.toLocaleString('en-US')} sites`,
            value: oursList.medianMs,
            unit: 'ms',
            baseline: timingOf(timings, names.listRaw).medianMs,
            baselineName: 'raw SQLite: the first 100 rows of a plain current-state table by status (no history)',
            better: 'lower',
            note: `${spread(oursList)}, p99 ${oursList.p99Ms.toFixed(1)} ms; ListSitesQuery; ${WARM_PAGES}`,
          }),
        );
      } finally {
        plain.close();
        await app.close();
      }
    }

    // Fleet counts as of a moment, the count timeline beside today's count of intervals, on two
    // fleets ten times apart with the same history per site (their own ledgers, removed after).
    for (const scaleSites of quick ? [20_000, 200_000] : [100_000, 1_000_000]) {
      const scaleRounds = quick ? 2 : 4;
      const scaleData = tempDir('fleet-counts');
      try {
        const started = performance.now();
        const ledger = await writeFleetLedger(scaleData.dir, scaleSites, scaleRounds);
        const fact = `${ledger.sites.toLocaleString('en-US')} sites, ${ledger.events.toLocaleString('en-US')} events, written in ${((performance.now() - started) / 1000).toFixed(1)} s`;
        facts[`fleet counts ledger, ${ledger.sites.toLocaleString('en-US')} sites`] = fact;
        log(fact);
        const next = random(7);
        figures.push(
          ...(await fleetCountsAtScale(scaleData.dir, ledger, {
            builds: quick ? 1 : 2,
            // Today's count reads about half the intervals each time: fewer samples on the large ledger.
            iterations: quick ? 10 : scaleSites > 100_000 ? 16 : 32,
            rounds: quick ? 1 : 2,
            pick: () => ledger.fromMs + Math.floor(next() * (ledger.toMs - ledger.fromMs)),
          })),
        );
      } finally {
        scaleData.dispose();
      }
    }

    // Memory while streaming: the whole ledger as an NDJSON audit export, and the SSE stream from the start.
    const http = await startHttpService(config);
    try {
      // The export reads the audit index: let it cover the whole ledger first.
      if (!(await http.app.get(ProjectionRunner, { strict: false }).catchUp(600_000)))
        throw new Error('read models did not catch up');
      // Each stream at two sizes, the smaller first: a live heap that does not grow with the size
      // streamed is what "flat" means (two values, no ratio: the sizes differ, the growth should not).
      const middle = new Date(fleet.fromMs + (fleet.toMs - fleet.fromMs) / 2).toISOString();
      const halfExport = await heapWhile(() =>
        drain(`${http.url}/v1/audit/events?format=ndjson&to=${encodeURIComponent(middle)}`),
      );
      const fullExport = await heapWhile(() => drain(`${http.url}/v1/audit/events?format=ndjson`));
      const sseBytes = quick ? 100 * 2 ** 20 : 400 * 2 ** 20;
      const halfSse = await heapWhile(() => drain(`${http.url}/v1/events/stream`, sseBytes / 2));
      const fullSse = await heapWhile(() => drain(`${http.url}/v1/events/stream`, sseBytes));
      // Let the server see the client hang up before the app closes under the stream.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const sse = (bytes: number) =>
        `SSE /v1/events/stream from the first event, ${(bytes / 2 ** 20).toFixed(0)} MiB read`;
      for (const [name, result, other] of [
        [`audit export (NDJSON) of the first half of the timeline over HTTP`, halfExport, fullExport],
        [
          `audit export (NDJSON) of all ${fleet.events.toLocaleString('en-US')} events over HTTP`,
          fullExport,
          halfExport,
        ],
        [sse(sseBytes / 2), halfSse, fullSse],
        [sse(sseBytes), fullSse, halfSse],
      ] as const) {
        const growth = (run: typeof result) => Math.max(0.1, run.peakMb - run.beforeMb);
        log(
          `${name}: ${(result.bytes / 2 ** 20).toFixed(0)} MiB streamed, live heap +${growth(result).toFixed(1)} MiB, RSS +${result.rssGrowthMb.toFixed(0)} MiB`,
        );
        figures.push(
          figure({
            name: `memory: ${name}`,
            value: growth(result),
            unit: 'MiB live heap growth',
            baseline: null,
            baselineName: `none (no ratio): the same stream at its other size, ${(other.bytes / 2 ** 20).toFixed(0)} MiB streamed, live heap +${growth(other).toFixed(1)} MiB`,
            better: 'lower',
            target: 'flat: growth independent of the size streamed',
            targetCheck: (f) => f.value < 64,
            note: `${(result.bytes / 2 ** 20).toFixed(0)} MiB streamed to the client; live heap after GC, sampled every 250 ms: ${result.beforeMb.toFixed(0)} → peak ${result.peakMb.toFixed(0)} MiB; RSS +${result.rssGrowthMb.toFixed(0)} MiB; server and client share the process`,
          }),
        );
      }
    } finally {
      await http.app.close();
    }
  } finally {
    data.dispose();
  }
  return { suite: 'fleet', figures, omissions, facts };
}
