import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { BENCH_TOKENS, benchConfig, seedSites } from '../app.js';
import { benchSiteId, openLedger, registration } from '../fixtures.js';
import { figure, log, summarize, tempDir, type Figure, type SuiteOptions, type SuiteResult } from '../harness.js';

const SITES = 1_000;
const CONNECTIONS = 10;

export interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts bench/src/http/server.js in its own process and waits for its URL. */
export async function startServer(args: string[]): Promise<Server> {
  const script = fileURLToPath(new URL('../http/server.js', import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  // The service's JSON log lines share stdout with the line that names the
  // URL; the log keeps being read (and dropped), so the server never blocks on it.
  const lines = createInterface({ input: child.stdout! });
  const announced = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const url = line.startsWith('{"url":') ? (JSON.parse(line) as { url: unknown }).url : undefined;
      if (typeof url === 'string') resolve(url);
    });
  });
  const url = await Promise.race([
    announced,
    once(child, 'exit').then(([code]) => {
      throw new Error(`server ${args.join(' ')} exited with ${String(code)}`);
    }),
  ]);
  return {
    url,
    child,
    async stop() {
      const exited = once(child, 'exit');
      child.stdin!.end();
      await exited;
    },
  };
}

export interface Load {
  rps: number;
  p99: number;
  p50: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Wall time of the run, s. */
  seconds: number;
  /** CPU time of the load generator (this process: autocannon) during the run, user + system, s. */
  generatorCpuSeconds: number;
  /** CPU time of the server process during the run, s; undefined where /proc is not there to read it. */
  serverCpuSeconds: number | undefined;
}

export interface LoadRequest {
  method: 'GET' | 'PUT' | 'POST';
  path: (n: number) => string;
  body?: (n: number) => string;
}

/**
 * autocannon against 127.0.0.1 only: for `seconds`, or for exactly `amount`
 * requests when given (`path` and `body` are then called with n = 1 … amount).
 * The load generator runs in this process and the server in another on the
 * same cores, so both processes' CPU time is measured around the run.
 */
export async function load(
  url: string,
  seconds: number,
  request: LoadRequest,
  connections = CONNECTIONS,
  options: { serverPid?: number; amount?: number } = {},
): Promise<Load> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load ${url}: loopback only`);
  let n = 0;
  const serverBefore = options.serverPid === undefined ? undefined : processCpuSeconds(options.serverPid);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  // Without a callback autocannon returns its tracker (an EventEmitter) made thenable; the types know only the promise.
  const run = autocannon({
    url,
    connections,
    ...(options.amount === undefined ? { duration: seconds } : { amount: options.amount }),
    headers: { authorization: `Bearer ${BENCH_TOKENS.operator}`, 'content-type': 'application/json' },
    requests: [
      {
        method: request.method,
        setupRequest: (req) => {
          n += 1;
          return { ...req, path: request.path(n), ...(request.body ? { body: request.body(n) } : {}) };
        },
      },
    ],
  }) as Promise<autocannon.Result> & Pick<NodeJS.EventEmitter, 'on'>;
  // autocannon ends a run on its next one-second tick: for a fixed amount, the run's time is until the last answer.
  let lastAnswer = started;
  run.on('response', () => {
    lastAnswer = performance.now();
  });
  const result = await run;
  const wall = ((options.amount === undefined ? performance.now() : lastAnswer) - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = options.serverPid === undefined ? undefined : processCpuSeconds(options.serverPid);
  return {
    // A fixed amount may finish within a second or two: autocannon's per-second average would mislead.
    rps: options.amount === undefined ? result.requests.average : result.requests.total / wall,
    p99: result.latency.p99,
    p50: result.latency.p50,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: wall,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    serverCpuSeconds: serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore,
  };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A process's CPU time so far (user + system, s), from /proc/PID/stat; undefined off Linux. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after "(comm)": state is the first, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The load generator's CPU over `runs`, for a figure's field. */
export function generatorCpu(runs: readonly Load[]): { cpuSeconds: number; shareOfMachine: number } {
  const cpuSeconds = runs.reduce((sum, run) => sum + run.generatorCpuSeconds, 0);
  const wall = runs.reduce((sum, run) => sum + run.seconds, 0);
  return { cpuSeconds, shareOfMachine: cpuSeconds / (wall * cpus().length) };
}

/** "load generator: 3.1 s CPU, 38% of 2 cores over 4.1 s; server: 2.5 s CPU, 410 µs per request", for a note. */
export function cpuNote(runs: readonly Load[]): string {
  const { cpuSeconds, shareOfMachine } = generatorCpu(runs);
  const wall = runs.reduce((sum, run) => sum + run.seconds, 0);
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const server = runs.every((run) => run.serverCpuSeconds !== undefined)
    ? runs.reduce((sum, run) => sum + run.serverCpuSeconds!, 0)
    : undefined;
  return (
    `load generator (autocannon, in the bench process): ${cpuSeconds.toFixed(2)} s CPU, ${(shareOfMachine * 100).toFixed(0)}% of ${cpus().length} cores over ${wall.toFixed(1)} s` +
    (server === undefined
      ? ''
      : `; server process: ${server.toFixed(2)} s CPU, ${((server / requests) * 1e6).toFixed(0)} µs per request`)
  );
}

/** The server's CPU per request over `runs`, µs (undefined without /proc). */
export function serverCpuPerRequestUs(runs: readonly Load[]): number | undefined {
  if (!runs.every((run) => run.serverCpuSeconds !== undefined)) return undefined;
  const server = runs.reduce((sum, run) => sum + run.serverCpuSeconds!, 0);
  return (server / runs.reduce((sum, run) => sum + run.requests, 0)) * 1e6;
}

/**
 * Site reads in this process (SiteStreams.load on the ledger the servers
 * use, before they start), for the per-read costs quoted beside the HTTP
 * figures: a one-event site's first read (empty fold cache, after the JIT
 * warmed up on other sites) and a cached one.
 */
async function inProcessReads(
  dir: string,
  warmIds: readonly string[],
  coldIds: readonly string[],
): Promise<Record<string, string>> {
  const ledger = openLedger(dir);
  try {
    const streams = ledger.streams;
    for (const siteId of warmIds) await streams.load(siteId);
    const time = async (siteId: string) => {
      const start = performance.now();
      await streams.load(siteId);
      return performance.now() - start;
    };
    const cold: number[] = [];
    for (const siteId of coldIds) cold.push(await time(siteId));
    const warm: number[] = [];
    for (let round = 0; round < 3; round += 1) for (const siteId of warmIds) warm.push(await time(siteId));
    const fact = (values: number[]) => {
      const timing = summarize('site reads', values);
      return `${(timing.medianMs * 1000).toFixed(1)} µs median, p99 ${(timing.p99Ms * 1000).toFixed(0)} µs (${timing.samples} reads)`;
    };
    return {
      'site read in process (SiteStreams.load), one-event site, cold: first read of the site': fact(cold),
      'site read in process (SiteStreams.load), one-event site, warm: cached fold': fact(warm),
    };
  } finally {
    await ledger.close();
  }
}

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const seconds = quick ? 4 : 15;
  const coldSites = quick ? 4_000 : 12_000;
  const data = tempDir('http');
  const siteIds = Array.from({ length: SITES }, (_, i) => benchSiteId('http', i));
  // Sites nobody reads before the cold pass: each is read once, the first read after the server started.
  const coldIds = Array.from({ length: coldSites }, (_, i) => benchSiteId('httpcold', i));
  await seedSites(
    data.dir,
    [...siteIds, ...coldIds].map((siteId, i) => ({ siteId, events: [registration(siteId, i)] })),
  );
  benchConfig(data.dir); // writes the token file the server reads
  const facts: Record<string, string> = await inProcessReads(data.dir, siteIds, coldIds.slice(0, 2_000));
  const figures: Figure[] = [];
  const siteOf = (n: number) => siteIds[n % SITES]!;
  const read = { method: 'GET' as const, path: (n: number) => `/v1/sites/${siteOf(n)}` };
  const coldRead = { method: 'GET' as const, path: (n: number) => `/v1/sites/${coldIds[(n - 1) % coldSites]!}` };
  const command = {
    method: 'PUT' as const,
    path: (n: number) => `/v1/sites/${siteOf(n)}/contacts`,
    // A different owner every time, so every request records an event.
    body: (n: number) =>
      JSON.stringify({ contacts: [{ name: `Owner ${n}`, email: `owner${n}@example.com`, role: 'owner' }] }),
  };
  try {
    const bare = await startServer(['--mode', 'bare']);
    let bareLoad: Load;
    try {
      await load(bare.url, 1, { method: 'GET', path: () => '/ping' }); // warm-up
      bareLoad = await load(bare.url, seconds, { method: 'GET', path: () => '/ping' }, CONNECTIONS, {
        serverPid: bare.child.pid!,
      });
    } finally {
      await bare.stop();
    }
    const stubbed = await startServer(['--mode', 'stubbed', '--dir', data.dir]);
    let stubbedLoad: Load;
    try {
      await load(stubbed.url, 1, read);
      stubbedLoad = await load(stubbed.url, seconds, read, CONNECTIONS, { serverPid: stubbed.child.pid! });
    } finally {
      await stubbed.stop();
    }
    const real = await startServer(['--mode', 'real', '--dir', data.dir]);
    const serverPid = real.child.pid!;
    let coldLoad: Load;
    let readLoad: Load;
    let commandLoad: Load;
    try {
      await load(real.url, 1, read); // warms the JIT (and the fold cache) on the warm sites only
      coldLoad = await load(real.url, 0, coldRead, CONNECTIONS, { serverPid, amount: coldSites });
      readLoad = await load(real.url, seconds, read, CONNECTIONS, { serverPid });
      await load(real.url, 1, command);
      commandLoad = await load(real.url, seconds, command, CONNECTIONS, { serverPid });
    } finally {
      await real.stop();
    }
    for (const [name, run] of [
      ['bare', bareLoad],
      ['read, ledger stubbed out', stubbedLoad],
      ['read, cold (first read of each site)', coldLoad],
      ['read, warm', readLoad],
      ['command, warm', commandLoad],
    ] as const) {
      log(
        `${name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.requests} requests, non-2xx ${run.non2xx}, errors ${run.errors}; ${cpuNote([run])}`,
      );
      if (run.non2xx > 0 || run.errors > 0)
        throw new Error(`${name}: ${run.non2xx} non-2xx answers, ${run.errors} errors`);
      const perRequest = serverCpuPerRequestUs([run]);
      if (perRequest !== undefined)
        facts[`server CPU per request, ${name} (${CONNECTIONS} connections)`] = `${perRequest.toFixed(0)} µs`;
    }
    if (coldLoad.requests !== coldSites) throw new Error(`cold pass: ${coldLoad.requests} of ${coldSites} requests`);
    const bareName = `bare NestJS GET route (same machine, same run, ${CONNECTIONS} connections)`;
    const firstRead =
      "the first read of a site after a start pays the cold cost: the cold figure beside this one (one-event sites), and the aggregate suite's cold figures for long streams";
    figures.push(
      figure({
        name: 'HTTP site read GET /v1/sites/:id, warm (cached fold), throughput',
        value: readLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        target: "at least 30% of a bare NestJS route's throughput",
        targetCheck: (f) => (f.ratio ?? 0) >= 0.3,
        note: `${readLoad.requests} requests over ${seconds} s, ${SITES} one-event sites all read before (warm fold cache), bearer auth, validation, the contacts opened; ${firstRead}; ${cpuNote([readLoad])}; bare: ${cpuNote([bareLoad])}`,
        loadGenerator: generatorCpu([readLoad]),
      }),
      figure({
        name: 'HTTP site read GET /v1/sites/:id, cold: first read of each site after the start, throughput',
        value: coldLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        note: `${coldSites.toLocaleString('en-US')} one-event sites, each read exactly once (${coldLoad.seconds.toFixed(1)} s), by a server that had read only other sites (its JIT warm, these sites' folds not cached); p50 ${coldLoad.p50} ms, p99 ${coldLoad.p99} ms; ${cpuNote([coldLoad])}`,
        loadGenerator: generatorCpu([coldLoad]),
      }),
      figure({
        name: 'HTTP site read route with the ledger read stubbed out (the HTTP stack alone), throughput',
        value: stubbedLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        note: `diagnostic: SiteStreams.load answers from memory; the ceiling of this route whatever the ledger does; ${cpuNote([stubbedLoad])}`,
        loadGenerator: generatorCpu([stubbedLoad]),
      }),
      figure({
        name: 'HTTP site read GET /v1/sites/:id, warm (cached fold), p99 latency',
        value: readLoad.p99,
        unit: 'ms',
        baseline: bareLoad.p99,
        baselineName: bareName,
        better: 'lower',
        note: `p50 ${readLoad.p50} ms (bare p50 ${bareLoad.p50} ms); cold pass: p50 ${coldLoad.p50} ms, p99 ${coldLoad.p99} ms; ${cpuNote([readLoad])}`,
        loadGenerator: generatorCpu([readLoad]),
      }),
      figure({
        name: 'HTTP site command PUT /v1/sites/:id/contacts, warm (sites folded before), throughput',
        value: commandLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        target: "at least 35% of a bare NestJS route's throughput",
        targetCheck: (f) => (f.ratio ?? 0) >= 0.35,
        note: `${commandLoad.requests} requests over ${seconds} s on ${SITES} sites read before; each loads the site (cached fold), seals contacts, appends with a durable commit (fsync) and waits for the read models; ${cpuNote([commandLoad])}`,
        loadGenerator: generatorCpu([commandLoad]),
      }),
      figure({
        name: 'HTTP site command PUT /v1/sites/:id/contacts, warm (sites folded before), p99 latency',
        value: commandLoad.p99,
        unit: 'ms',
        baseline: bareLoad.p99,
        baselineName: bareName,
        better: 'lower',
        note: `p50 ${commandLoad.p50} ms; ${cpuNote([commandLoad])}`,
        loadGenerator: generatorCpu([commandLoad]),
      }),
    );
  } finally {
    data.dispose();
  }
  return { suite: 'http', figures, omissions: [], facts };
}
