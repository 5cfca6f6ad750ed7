import { readFileSync } from 'node:fs';

const MiB = 1024 * 1024;

/** One look at the service process, `t` seconds after the load started. */
export interface MemorySample {
  t: number;
  /** VmRSS of /proc/<pid>/status: the process's resident memory. */
  rssMiB: number;
  /** nodejs_heap_size_used_bytes from /metrics (live objects and garbage not yet collected); absent if /metrics did not answer. */
  heapUsedMiB?: number;
}

/** A kB figure of /proc/<pid>/status (VmRSS, VmHWM), in MiB. */
export function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kB === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kB) / 1024;
}

/**
 * Samples a process's resident memory every `everyMs` (from /proc, which
 * costs the process nothing) and its heap from its own /metrics, until
 * stopped. The /metrics request shares the service with the load; a late
 * answer only leaves that sample without a heap figure.
 */
export class MemorySampler {
  private readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private started = 0;

  constructor(
    private readonly pid: number,
    private readonly metricsUrl: string,
    private readonly token: string,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.started = performance.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): MemorySample[] {
    clearInterval(this.timer);
    this.sample();
    return this.samples;
  }

  private sample(): void {
    const sample: MemorySample = {
      t: (performance.now() - this.started) / 1000,
      rssMiB: procStatusMiB(this.pid, 'VmRSS'),
    };
    this.samples.push(sample);
    void fetch(this.metricsUrl, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(this.everyMs),
    })
      .then((response) => response.text())
      .then((text) => {
        const bytes = /^nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1];
        if (bytes !== undefined) sample.heapUsedMiB = Number(bytes) / MiB;
      })
      .catch(() => undefined);
  }
}

/** Resident memory over one soak, in MiB (slope in MiB per minute). */
export interface MemorySummary {
  startMiB: number;
  peakMiB: number;
  lastQuarterMeanMiB: number;
  /** Least-squares slope over the first half of the samples. */
  firstHalfSlopeMiBPerMin: number;
  /** Least-squares slope over the second half of the samples. */
  slopeMiBPerMin: number;
  /** 95% half-width of that slope (1.96 standard errors, as if samples were independent: they are not, so it is a lower bound). */
  slopeHalfWidth: number;
  samples: number;
  seconds: number;
}

export function summarizeMemory(
  samples: readonly MemorySample[],
  value: (sample: MemorySample) => number | undefined,
): MemorySummary {
  const points = samples.flatMap((sample) => {
    const v = value(sample);
    return v === undefined ? [] : [{ t: sample.t, v }];
  });
  if (points.length < 8) throw new Error(`too few memory samples (${points.length})`);
  const seconds = points.at(-1)!.t;
  const lastQuarter = points.filter((point) => point.t >= 0.75 * seconds);
  const perMinute = (point: { t: number; v: number }) => ({ x: point.t / 60, y: point.v });
  const firstHalf = leastSquares(points.filter((point) => point.t < seconds / 2).map(perMinute));
  const { slope, standardError } = leastSquares(points.filter((point) => point.t >= seconds / 2).map(perMinute));
  return {
    startMiB: points[0]!.v,
    peakMiB: Math.max(...points.map((point) => point.v)),
    lastQuarterMeanMiB: lastQuarter.reduce((sum, point) => sum + point.v, 0) / lastQuarter.length,
    firstHalfSlopeMiBPerMin: firstHalf.slope,
    slopeMiBPerMin: slope,
    slopeHalfWidth: 1.96 * standardError,
    samples: points.length,
    seconds,
  };
}

function leastSquares(points: readonly { x: number; y: number }[]): { slope: number; standardError: number } {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
  const sxy = points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0);
  const slope = sxy / sxx;
  const residuals = points.reduce((sum, p) => sum + (p.y - meanY - slope * (p.x - meanX)) ** 2, 0);
  return { slope, standardError: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : Number.NaN };
}

/** The heap after one full (mark-compact) collection: what is live then, caches included. */
export interface FullGc {
  /** Milliseconds since the process's V8 isolate started. */
  atMs: number;
  liveMiB: number;
}

/**
 * A `--trace-gc` line of a full collection, e.g.
 * `[123:0x55d]   61234 ms: Mark-Compact 612.3 (650.1) -> 250.1 (660.0) MB, …`
 * (V8's MB are MiB: heap used before (committed) -> after (committed)).
 * Undefined for any other line (scavenges, the service's own log lines).
 */
export function parseFullGc(line: string): FullGc | undefined {
  const match = /(\d+(?:\.\d+)?) ms: Mark-Compact(?: \([a-z ]+\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(
    line,
  );
  return match ? { atMs: Number(match[1]), liveMiB: Number(match[2]) } : undefined;
}
