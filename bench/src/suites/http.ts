import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { BENCH_TOKENS, benchConfig, seedSites } from '../app.js';
import { benchSiteId, registration } from '../fixtures.js';
import { figure, log, tempDir, type Figure, type SuiteOptions, type SuiteResult } from '../harness.js';

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
}

/** autocannon against 127.0.0.1 only, for a bounded time. */
export async function load(
  url: string,
  seconds: number,
  request: { method: 'GET' | 'PUT'; path: (n: number) => string; body?: (n: number) => string },
  connections = CONNECTIONS,
): Promise<Load> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load ${url}: loopback only`);
  let n = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
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
  });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    p50: result.latency.p50,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const seconds = quick ? 4 : 15;
  const data = tempDir('http');
  const siteIds = Array.from({ length: SITES }, (_, i) => benchSiteId('http', i));
  await seedSites(
    data.dir,
    siteIds.map((siteId, i) => ({ siteId, events: [registration(siteId, i)] })),
  );
  benchConfig(data.dir); // writes the token file the server reads
  const figures: Figure[] = [];
  const siteOf = (n: number) => siteIds[n % SITES]!;
  const read = { method: 'GET' as const, path: (n: number) => `/v1/sites/${siteOf(n)}` };
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
      bareLoad = await load(bare.url, seconds, { method: 'GET', path: () => '/ping' });
    } finally {
      await bare.stop();
    }
    const stubbed = await startServer(['--mode', 'stubbed', '--dir', data.dir]);
    let stubbedLoad: Load;
    try {
      await load(stubbed.url, 1, read);
      stubbedLoad = await load(stubbed.url, seconds, read);
    } finally {
      await stubbed.stop();
    }
    const real = await startServer(['--mode', 'real', '--dir', data.dir]);
    let readLoad: Load;
    let commandLoad: Load;
    try {
      await load(real.url, 1, read);
      readLoad = await load(real.url, seconds, read);
      await load(real.url, 1, command);
      commandLoad = await load(real.url, seconds, command);
    } finally {
      await real.stop();
    }
    for (const [name, run] of [
      ['bare', bareLoad],
      ['read, ledger stubbed out', stubbedLoad],
      ['read', readLoad],
      ['command', commandLoad],
    ] as const) {
      log(
        `${name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.requests} requests, non-2xx ${run.non2xx}, errors ${run.errors}`,
      );
      if (run.non2xx > 0 || run.errors > 0)
        throw new Error(`${name}: ${run.non2xx} non-2xx answers, ${run.errors} errors`);
    }
    const bareName = `bare NestJS GET route (same machine, same run, ${CONNECTIONS} connections)`;
    figures.push(
      figure({
        name: 'HTTP site read GET /v1/sites/:id, throughput',
        value: readLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        target: "at least 30% of a bare NestJS route's throughput",
        targetCheck: (f) => (f.ratio ?? 0) >= 0.3,
        note: `${readLoad.requests} requests over ${seconds} s, ${SITES} sites, bearer auth, validation, fold of the site's stream`,
      }),
      figure({
        name: 'HTTP site read route with the ledger read stubbed out (the HTTP stack alone), throughput',
        value: stubbedLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        note: 'diagnostic: SiteStreams.load answers from memory; the ceiling of this route whatever the ledger does',
      }),
      figure({
        name: 'HTTP site read GET /v1/sites/:id, p99 latency',
        value: readLoad.p99,
        unit: 'ms',
        baseline: bareLoad.p99,
        baselineName: bareName,
        better: 'lower',
        note: `p50 ${readLoad.p50} ms (bare p50 ${bareLoad.p50} ms)`,
      }),
      figure({
        name: 'HTTP site command PUT /v1/sites/:id/contacts, throughput',
        value: commandLoad.rps,
        unit: 'req/s',
        baseline: bareLoad.rps,
        baselineName: bareName,
        better: 'higher',
        note: `${commandLoad.requests} requests; each seals contacts, appends with a durable commit (fsync) and waits for the read models`,
      }),
      figure({
        name: 'HTTP site command PUT /v1/sites/:id/contacts, p99 latency',
        value: commandLoad.p99,
        unit: 'ms',
        baseline: bareLoad.p99,
        baselineName: bareName,
        better: 'lower',
        note: `p50 ${commandLoad.p50} ms`,
      }),
    );
  } finally {
    data.dispose();
  }
  return { suite: 'http', figures, omissions: [], facts: {} };
}
