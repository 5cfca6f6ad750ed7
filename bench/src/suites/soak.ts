import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { MiB } from '../../../src/common/heap-size.js';
import { DEFAULT_FOLD_CACHE_LIMITS } from '../../../src/sites/site-fold-cache.js';
import { BENCH_TOKENS, benchConfig } from '../app.js';
import { figure, log, tempDir, type Figure, type SuiteOptions, type SuiteResult } from '../harness.js';
import { startServiceProcess } from '../service-process.js';
import {
  MemorySampler,
  parseFullGc,
  procStatusMiB,
  summarizeMemory,
  type FullGc,
  type MemorySample,
  type MemorySummary,
} from '../soak/memory-samples.js';
import { MIX, runMixedLoad, type LoadTally } from '../soak/mixed-load.js';
import { seedSoakLedger } from '../soak/soak-ledger.js';

/**
 * Soak: the service as it runs in production (`node main.js`, SQLite store,
 * its own process, V8's default heap limit) under minutes of mixed HTTP
 * load, its resident memory (VmRSS) sampled every second. Two working sets,
 * N and 4N distinct sites, on the same ledger of 4N sites: if a cache
 * followed the working set instead of its byte bound, the second would
 * settle higher, or keep climbing.
 *
 * Every cache is pushed past its bound: the service builds its read models
 * as it starts (a new instance on this ledger), which puts all 4N sites
 * through the fleet cache (192 MiB, about 200,000 sites); the load touches
 * more sites than the fold cache's 64 MiB holds (about 42,000); and the
 * read-model file is larger than SQLite's 64 MiB page cache.
 *
 * The service runs with `--trace-gc`, so the heap left after each full
 * collection (what is live, caches included) is known exactly: RSS is that
 * plus the garbage V8 lets accumulate between collections, plus native
 * memory (SQLite, buffers, code).
 *
 *   LEDGER_BENCH_SOAK_SECONDS   load per working set (default 90 s; 45 with --quick)
 *   LEDGER_BENCH_SOAK_SITES     N (default 60,000; the ledger holds 4N)
 *   LEDGER_BENCH_SOAK_ROUNDS    soaks per working set (default 1), alternating N and 4N
 */
const CONNECTIONS = 10;
/** Every soak's samples, as CSV, for a plot: bench/.tmp/soak/ (the build is bench/.tmp/build/bench/src/suites/). */
const SAMPLES_DIR = fileURLToPath(new URL('../../../../soak/', import.meta.url));
/** src/fleet/fleet.projection.ts CACHE_BYTES (not exported). */
const FLEET_CACHE_MIB = 192;
/** src/read-models/read-model.database.ts: cache_size = -65536 (KiB). */
const READ_MODEL_PAGE_CACHE_MIB = 64;
/**
 * RSS grows in steps, when a full collection lets V8 enlarge the heap; a
 * soak with fewer full collections than this (a 90 s one has one or two)
 * is too short to say whether it levels off, and its checks are not made.
 */
const FULL_GCS_TO_JUDGE = 8;

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, not "${raw}"`);
  return value;
}

interface Soak {
  workingSet: number;
  round: number;
  readyInS: number;
  /** VmHWM once ready: the most the process held before the load, while it built its read models. */
  readyHighWaterMiB: number;
  rss: MemorySummary;
  heapUsed: MemorySummary;
  /** Full collections during the load, `atS` after it started. */
  fullGcs: { atS: number; liveMiB: number }[];
  load: LoadTally;
  exit: number | string | null;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const seconds = positiveEnv('LEDGER_BENCH_SOAK_SECONDS', quick ? 45 : 90);
  const n = positiveEnv('LEDGER_BENCH_SOAK_SITES', 60_000);
  const rounds = positiveEnv('LEDGER_BENCH_SOAK_ROUNDS', 1);
  const ledgerSites = 4 * n;
  const sizes = [n, 4 * n];

  const ledger = tempDir('soak-ledger');
  const soaks: Soak[] = [];
  try {
    const seedStart = performance.now();
    const { events } = await seedSoakLedger(ledger.dir, ledgerSites);
    benchConfig(ledger.dir); // the token file and checkpoint key every run's service reads
    const seededInS = (performance.now() - seedStart) / 1000;
    log(`ledger: ${fmt(ledgerSites)} sites, ${fmt(events)} events, seeded in ${seededInS.toFixed(1)} s`);

    for (let round = 1; round <= rounds; round += 1) {
      for (const workingSet of sizes) {
        const soak = await soakOnce({ template: ledger.dir, workingSet, ledgerSites, seconds, round });
        soaks.push(soak);
        const { rss, load } = soak;
        const live = soak.fullGcs.at(-1)?.liveMiB;
        log(
          `working set ${fmt(workingSet)} (round ${round}): RSS start ${fmt(rss.startMiB)} MiB, peak ${fmt(rss.peakMiB)}, ` +
            `last quarter ${fmt(rss.lastQuarterMeanMiB)}, slope ${fmt(rss.firstHalfSlopeMiBPerMin, 1)} then ` +
            `${fmt(rss.slopeMiBPerMin, 1)} ± ${fmt(rss.slopeHalfWidth, 1)} MiB/min; ` +
            `live heap after the last of ${soak.fullGcs.length} full GCs ${live === undefined ? '—' : fmt(live)} MiB; ` +
            `${fmt(load.requests)} requests (${fmt(load.requests / seconds)}/s), ${load.serverErrors} server errors, ` +
            `${load.unexpected} other unexpected answers, ${load.failed} failed`,
        );
        for (const problem of load.problems) log(`  ${problem}`);
      }
    }
    const figures = sizes.flatMap((workingSet) =>
      figuresFor(
        soaks.filter((soak) => soak.workingSet === workingSet),
        soaks.filter((soak) => soak.workingSet === sizes[0]),
        { ledgerSites, seconds, largest: workingSet === sizes.at(-1) },
      ),
    );
    const served = soaks.reduce((sum, soak) => sum + soak.load.requests, 0);
    const serverErrors = soaks.reduce((sum, soak) => sum + soak.load.serverErrors, 0);
    const unexpected = soaks.reduce((sum, soak) => sum + soak.load.unexpected + soak.load.failed, 0);
    const facts: Record<string, string> = {
      'soak ledger': `${fmt(ledgerSites)} sites, ${fmt(events)} events, seeded in ${seededInS.toFixed(1)} s; each soak starts the service on a fresh copy`,
      'soak load': `${CONNECTIONS} connections, ${seconds} s per soak, ${rounds} round(s); per 1,000 requests: ${MIX.map((each) => `${each.perMille} ${each.kind}`).join(', ')}`,
      'soak requests': `${fmt(served)} served, ${serverErrors} server errors (5xx), ${unexpected} other unexpected answers or failures`,
      'soak byte bounds': `fleet cache ${FLEET_CACHE_MIB} MiB, site fold cache ${DEFAULT_FOLD_CACHE_LIMITS.maxBytes / MiB} MiB, read-model SQLite page cache ${READ_MODEL_PAGE_CACHE_MIB} MiB; V8 heap limit ${fmt(getHeapStatistics().heap_size_limit / MiB)} MiB (its default on this machine)`,
    };
    for (const soak of soaks) {
      const kinds = Object.entries(soak.load.byKind)
        .map(
          ([kind, tally]) =>
            `${kind} ${fmt(tally.requests)} (${fmt(tally.totalMs / Math.max(1, tally.requests), 1)} ms; ${Object.keys(tally.statuses).join('/')})`,
        )
        .join(', ');
      facts[`soak ${fmt(soak.workingSet)} sites, round ${soak.round}`] =
        `ready after ${soak.readyInS.toFixed(1)} s (read models built), RSS high-water then ${fmt(soak.readyHighWaterMiB)} MiB; ` +
        `live heap after full GCs ${soak.fullGcs.map((gc) => fmt(gc.liveMiB)).join(', ')} MiB; ${kinds}; exit ${String(soak.exit)}`;
    }
    if (serverErrors > 0) throw new Error(`the soak got ${serverErrors} server errors`);
    return { suite: 'soak', figures, omissions: [], facts };
  } finally {
    ledger.dispose();
  }
}

async function soakOnce(options: {
  template: string;
  workingSet: number;
  ledgerSites: number;
  seconds: number;
  round: number;
}): Promise<Soak> {
  const data = tempDir('soak');
  try {
    cpSync(options.template, data.dir, { recursive: true });
    const fullGcs: FullGc[] = [];
    const spawnedAt = performance.now();
    const service = await startServiceProcess(
      {
        LEDGER_DATA_DIR: data.dir,
        LEDGER_TOKENS_FILE: join(data.dir, 'bench-tokens.json'),
        LEDGER_CHECKPOINT_KEY_FILE: join(data.dir, 'bench-checkpoint-key.pem'),
        LEDGER_PURGE_INTERVAL: 'PT1H',
        LEDGER_READY_MAX_LAG: '0',
        LEDGER_LOG_LEVEL: 'warn',
      },
      {
        readyWithinMs: 10 * 60_000,
        nodeArgs: ['--trace-gc'],
        onLine: (line) => {
          const gc = parseFullGc(line);
          if (gc) fullGcs.push(gc);
        },
      },
    );
    let measured: Omit<Soak, 'exit'>;
    let exit: number | string | null;
    try {
      const readyInS = (performance.now() - spawnedAt) / 1000;
      const readyHighWaterMiB = procStatusMiB(service.pid, 'VmHWM');
      const sampler = new MemorySampler(service.pid, `${service.base}/metrics`, BENCH_TOKENS.viewer);
      const loadStartedAt = performance.now();
      sampler.start();
      let load: LoadTally;
      let samples: MemorySample[];
      try {
        load = await runMixedLoad({
          base: service.base,
          token: BENCH_TOKENS.operator,
          workingSet: options.workingSet,
          ledgerSites: options.ledgerSites,
          connections: CONNECTIONS,
          seconds: options.seconds,
          label: `${options.workingSet}-${options.round}`,
        });
      } finally {
        samples = sampler.stop();
      }
      // V8 counts from the isolate's start, a few ms after the spawn: close enough for minutes.
      const duringLoad = fullGcs
        .map((gc) => ({ atS: (gc.atMs - (loadStartedAt - spawnedAt)) / 1000, liveMiB: gc.liveMiB }))
        .filter((gc) => gc.atS >= 0);
      mkdirSync(SAMPLES_DIR, { recursive: true });
      const name = `working-set-${options.workingSet}-round-${options.round}`;
      writeFileSync(
        join(SAMPLES_DIR, `${name}.csv`),
        `t_s,rss_mib,heap_used_mib\n${samples.map((s) => `${s.t.toFixed(1)},${s.rssMiB.toFixed(1)},${s.heapUsedMiB?.toFixed(1) ?? ''}`).join('\n')}\n`,
      );
      writeFileSync(
        join(SAMPLES_DIR, `${name}-full-gcs.csv`),
        `t_s,live_mib\n${duringLoad.map((gc) => `${gc.atS.toFixed(1)},${gc.liveMiB.toFixed(1)}`).join('\n')}\n`,
      );
      measured = {
        workingSet: options.workingSet,
        round: options.round,
        readyInS,
        readyHighWaterMiB,
        rss: summarizeMemory(samples, (sample) => sample.rssMiB),
        heapUsed: summarizeMemory(samples, (sample) => sample.heapUsedMiB),
        fullGcs: duringLoad,
        load,
      };
    } finally {
      exit = await service.stop();
      // Nest closes the app on SIGTERM, then ends the process with that signal.
      if (exit !== 0 && exit !== 'SIGTERM')
        log(`the service exited with ${String(exit)}: ${service.output().slice(-2000)}`);
    }
    return { ...measured, exit };
  } finally {
    data.dispose();
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Five memory figures per working set, each the median over rounds. Memory
 * has no baseline here, so no ratio; the largest working set carries the
 * two checks that say whether memory levels off.
 */
function figuresFor(
  soaks: readonly Soak[],
  smallest: readonly Soak[],
  context: { ledgerSites: number; seconds: number; largest: boolean },
): Figure[] {
  const workingSet = soaks[0]!.workingSet;
  const across = (values: number[], digits: number): string =>
    soaks.length > 1 ? `; ${soaks.length} rounds: ${values.map((v) => fmt(v, digits)).join(', ')}` : '';
  const what = `${fmt(workingSet)}-site working set of a ${fmt(context.ledgerSites)}-site ledger, ${fmt(context.seconds)} s of mixed HTTP load`;
  const common = {
    unit: 'MiB',
    baseline: null,
    baselineName: 'none (a memory figure: no baseline, no ratio)',
    better: 'lower' as const,
  };
  const starts = soaks.map((soak) => soak.rss.startMiB);
  const peaks = soaks.map((soak) => soak.rss.peakMiB);
  const lastQuarters = soaks.map((soak) => soak.rss.lastQuarterMeanMiB);
  const slopes = soaks.map((soak) => soak.rss.slopeMiBPerMin);
  const firstSlopes = soaks.map((soak) => soak.rss.firstHalfSlopeMiBPerMin);
  const lives = soaks.flatMap((soak) => (soak.fullGcs.length > 0 ? [soak.fullGcs.at(-1)!.liveMiB] : []));
  const lastQuarter = median(lastQuarters);
  const smallestLastQuarter = median(smallest.map((soak) => soak.rss.lastQuarterMeanMiB));
  const slope = median(slopes);
  const firstSlope = median(firstSlopes);
  const fullGcs = Math.min(...soaks.map((soak) => soak.fullGcs.length));
  const judged = context.largest && fullGcs >= FULL_GCS_TO_JUDGE;
  const unjudged =
    context.largest && !judged
      ? `; too short to judge whether it levels off (${fullGcs} full GCs, ${FULL_GCS_TO_JUDGE} needed: set LEDGER_BENCH_SOAK_SECONDS)`
      : '';
  const figures = [
    figure({
      ...common,
      name: `soak: service RSS, ${what}, at start`,
      value: median(starts),
      note: `VmRSS of the node main.js process once it had built its read models (warm: the fleet cache full from the ledger), before any request; RSS high-water while building them ${fmt(median(soaks.map((soak) => soak.readyHighWaterMiB)))} MiB${across(starts, 0)}`,
    }),
    figure({
      ...common,
      name: `soak: service RSS, ${what}, peak`,
      value: median(peaks),
      note: `highest of the 1 s samples; ${fmt(median(soaks.map((soak) => soak.load.requests)))} requests, 0 server errors${across(peaks, 0)}`,
    }),
    figure({
      ...common,
      name: `soak: service RSS, ${what}, mean of the last quarter`,
      value: lastQuarter,
      note: `mean of the samples in the last ${fmt(context.seconds / 4)} s; heap used then (nodejs_heap_size_used_bytes, garbage included) ${fmt(median(soaks.map((soak) => soak.heapUsed.lastQuarterMeanMiB)))} MiB${across(lastQuarters, 0)}${unjudged}`,
      ...(judged
        ? {
            target: `does not follow the working set: within 10% of the ${fmt(smallest[0]!.workingSet)}-site soak's (${fmt(smallestLastQuarter)} MiB)`,
            targetCheck: () => lastQuarter <= 1.1 * smallestLastQuarter,
          }
        : {}),
    }),
    figure({
      ...common,
      unit: 'MiB/min',
      name: `soak: service RSS, ${what}, slope over the second half`,
      value: slope,
      note: `least squares over ${median(soaks.map((soak) => Math.floor(soak.rss.samples / 2)))} samples, ±${fmt(median(soaks.map((soak) => soak.rss.slopeHalfWidth)), 1)} (95%, taking samples as independent, which they are not); over the first half ${fmt(firstSlope, 1)} MiB/min${across(slopes, 1)}${unjudged}`,
      ...(judged
        ? {
            target: 'levels off: the second half climbs at most a quarter as fast as the first',
            targetCheck: () => slope <= 0.25 * Math.max(firstSlope, 0),
          }
        : {}),
    }),
  ];
  if (lives.length > 0) {
    const gcs = soaks.find((soak) => soak.fullGcs.length > 0)!.fullGcs;
    figures.push(
      figure({
        ...common,
        name: `soak: service live heap after the last full GC, ${what}`,
        value: median(lives),
        note: `V8 --trace-gc: heap left by each mark-compact, caches included; ${gcs.length} full GCs, ${fmt(gcs[0]!.liveMiB)} MiB after the first (at ${fmt(gcs[0]!.atS)} s)${across(lives, 0)}`,
      }),
    );
  }
  return figures;
}
