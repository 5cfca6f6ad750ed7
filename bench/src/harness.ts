import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench, type Task } from 'tinybench';

/**
 * One line of the results table: a figure measured beside its baseline in
 * the same run. `ratio` always reads "how many times better than the
 * baseline": value / baseline for rates (higher is better), baseline /
 * value for times (lower is better). So ratio > 1 beats the baseline, and a
 * target such as "25% of raw inserts" is `ratio >= 0.25`.
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  /** What the baseline is, in words. */
  baselineName: string;
  better: 'higher' | 'lower';
  /** The target for this figure, in words, and whether this run met it. */
  target?: string;
  met?: boolean;
  /** Anything a reader needs to weigh the number (sample count, spread, caveats). */
  note?: string;
  /**
   * HTTP figures: the CPU the load generator (autocannon, in the bench
   * process, sharing the machine with the server) used over the runs the
   * figure comes from, user + system, and that as a share of the machine
   * (CPU seconds / (wall seconds × cores)).
   */
  loadGenerator?: { cpuSeconds: number; shareOfMachine: number };
}

/** A figure that could not be measured, with the reason printed instead of a number. */
export interface Omission {
  name: string;
  reason: string;
}

export interface SuiteResult {
  suite: string;
  figures: Figure[];
  omissions: Omission[];
  /** Extra facts worth printing (peak memory, data-set sizes). */
  facts: Record<string, string | number>;
}

export interface SuiteOptions {
  quick: boolean;
}

export function figure(fields: Omit<Figure, 'ratio' | 'met'> & { targetCheck?: (figure: Figure) => boolean }): Figure {
  const { targetCheck, ...rest } = fields;
  const { value, baseline, better } = rest;
  const ratio =
    baseline === null || baseline === 0 || value === 0
      ? null
      : better === 'higher'
        ? value / baseline
        : baseline / value;
  const result: Figure = { ...rest, ratio };
  if (targetCheck) result.met = targetCheck(result);
  return result;
}

/** A fresh temporary data directory, removed by `dispose`. */
export function tempDir(label: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `tenant-ledger-bench-${label}-`));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TimedTask {
  name: string;
  /** The work measured; return a number of ms to report only part of it (tinybench's overriddenDuration). */
  run: () => Promise<number | void> | number | void;
  /** Untimed work before each iteration (a fresh store, say). */
  beforeEach?: () => Promise<void> | void;
  afterEach?: () => Promise<void> | void;
}

export interface TaskTiming {
  /** Median of the iterations, ms: robust against the odd slow iteration on a shared machine. */
  medianMs: number;
  meanMs: number;
  p99Ms: number;
  /** Relative margin of error of the mean, %. */
  rme: number;
  samples: number;
}

/**
 * Times tasks with tinybench: `iterations` timed runs after `warmup` untimed
 * ones, each iteration wrapped in its own beforeEach/afterEach. Tasks run
 * one after another, and the whole set is repeated `rounds` times so a
 * figure and its baseline alternate and share whatever the machine is doing.
 */
export async function timeTasks(
  tasks: readonly TimedTask[],
  options: { iterations: number; warmup?: number; rounds?: number },
): Promise<Map<string, TaskTiming>> {
  const rounds = options.rounds ?? 1;
  const samples = new Map<string, number[]>(tasks.map((task) => [task.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    const bench = new Bench({
      iterations: options.iterations,
      time: 0,
      warmup: (options.warmup ?? 0) > 0 && round === 0,
      warmupIterations: options.warmup ?? 0,
      warmupTime: 0,
      retainSamples: true,
      throws: true,
    });
    for (const task of tasks) {
      bench.add(
        task.name,
        async () => {
          const start = performance.now();
          const partial = await task.run();
          return { overriddenDuration: typeof partial === 'number' ? partial : performance.now() - start };
        },
        {
          ...(task.beforeEach ? { beforeEach: async () => task.beforeEach?.() } : {}),
          ...(task.afterEach ? { afterEach: async () => task.afterEach?.() } : {}),
        },
      );
    }
    await bench.run();
    for (const task of bench.tasks) samples.get(task.name)?.push(...samplesOf(task));
  }
  const timings = new Map<string, TaskTiming>();
  for (const [name, values] of samples) timings.set(name, summarize(name, values));
  return timings;
}

function samplesOf(task: Task): number[] {
  const result = task.result;
  if (result.state !== 'completed') {
    const error = 'error' in result ? result.error : undefined;
    throw new Error(`benchmark task "${task.name}" did not complete (${result.state})`, { cause: error });
  }
  return [...(result.latency.samples ?? [])];
}

/**
 * Times tasks interleaved iteration by iteration (A B, then B A, …), so a
 * figure and its baseline see the same moments of a busy machine; for
 * tasks whose runs must not share a tinybench batch (cold reads, each on a
 * fresh reader). `warmup` untimed rounds first.
 */
export async function timeInterleaved(
  tasks: readonly TimedTask[],
  options: { iterations: number; warmup?: number },
): Promise<Map<string, TaskTiming>> {
  const samples = new Map<string, number[]>(tasks.map((task) => [task.name, []]));
  const warmup = options.warmup ?? 0;
  for (let iteration = -warmup; iteration < options.iterations; iteration += 1) {
    const order = iteration % 2 === 0 ? tasks : [...tasks].reverse();
    for (const task of order) {
      await task.beforeEach?.();
      const start = performance.now();
      const partial = await task.run();
      const ms = typeof partial === 'number' ? partial : performance.now() - start;
      await task.afterEach?.();
      if (iteration >= 0) samples.get(task.name)!.push(ms);
    }
  }
  const timings = new Map<string, TaskTiming>();
  for (const [name, values] of samples) timings.set(name, summarize(name, values));
  return timings;
}

export function summarize(name: string, values: readonly number[]): TaskTiming {
  if (values.length === 0) throw new Error(`no samples for ${name}`);
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  const sd =
    sorted.length > 1 ? Math.sqrt(sorted.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (sorted.length - 1)) : 0;
  const median =
    sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  // 95% margin with the normal approximation: a rough spread indicator, not a test.
  const rme = mean === 0 ? 0 : (100 * 1.96 * sd) / Math.sqrt(sorted.length) / mean;
  return { medianMs: median, meanMs: mean, p99Ms: at(0.99), rme, samples: sorted.length };
}

export function timingOf(timings: Map<string, TaskTiming>, name: string): TaskTiming {
  const timing = timings.get(name);
  if (!timing) throw new Error(`no timing for ${name}`);
  return timing;
}

/** "n=5, ±3%" for a note. */
export function spread(timing: TaskTiming): string {
  return `median of ${timing.samples}, ±${timing.rme.toFixed(0)}%`;
}

/** Writes a suite's result where the runner asked for it. */
export function writeResult(outFile: string, result: SuiteResult): void {
  writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
}

export function log(message: string): void {
  process.stderr.write(`  ${message}\n`);
}
