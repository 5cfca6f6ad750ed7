import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { contactsFor } from '../fixtures.js';
import { historyStart, minutesToMs, pastMoment, pastMomentOf, seededSuspended, soakSiteId } from './soak-ledger.js';

/** What one request of the mix does. */
export type LoadKind =
  'read' | 'read as of' | 'history' | 'list' | 'stats' | 'audit' | 'contacts' | 'suspend/reactivate' | 'register';

/** Requests per 1,000 of each kind: mostly reads, about a third commands. */
export const MIX: readonly { kind: LoadKind; perMille: number; what: string }[] = [
  { kind: 'read', perMille: 270, what: 'GET /v1/sites/:id' },
  { kind: 'read as of', perMille: 150, what: 'GET /v1/sites/:id?asOf= a moment of its seeded history' },
  { kind: 'history', perMille: 80, what: 'GET /v1/sites/:id/history?limit=50' },
  {
    kind: 'list',
    perMille: 60,
    what: 'GET /v1/sites: suspended as of a past moment, one customer now, or active now (first page)',
  },
  { kind: 'stats', perMille: 10, what: 'GET /v1/stats, half of them as of a past moment' },
  { kind: 'audit', perMille: 70, what: "GET /v1/audit/events: one site's events, or suspensions in a past day" },
  { kind: 'contacts', perMille: 120, what: 'PUT /v1/sites/:id/contacts (new owner and billing contacts)' },
  { kind: 'suspend/reactivate', perMille: 140, what: 'POST /v1/sites/:id/suspend or /reactivate, as its state allows' },
  { kind: 'register', perMille: 100, what: 'POST /v1/sites (a new site, with an Idempotency-Key)' },
];

export interface KindTally {
  requests: number;
  /** Their summed latency (request sent to body read), ms. */
  totalMs: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
}

export interface LoadTally {
  seconds: number;
  requests: number;
  byKind: Record<LoadKind, KindTally>;
  /** Answers 500 and above. */
  serverErrors: number;
  /** Answers other than the expected 2xx below 500 (a 409 would mean the load asked for something its state forbids). */
  unexpected: number;
  /** Requests that got no answer (socket errors). */
  failed: number;
  /** The first few problems, verbatim, for the log. */
  problems: string[];
}

export interface LoadOptions {
  /** http://127.0.0.1:PORT */
  base: string;
  token: string;
  /** Sites 0 … workingSet − 1 of the seeded ledger are read and changed. */
  workingSet: number;
  /** How many sites the ledger was seeded with (moments for lists and stats span its history). */
  ledgerSites: number;
  connections: number;
  seconds: number;
  /** Distinguishes the ids of sites registered by this run. */
  label: string;
}

/** mulberry32: a small seeded PRNG, so every run draws the same sequence of requests per connection. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Call {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  expect: number;
  /** Runs on the expected answer (the load's own idea of a site's status follows it). */
  then?: () => void;
}

/**
 * Mixed HTTP load from `connections` loops, each with one request in flight
 * on a keep-alive connection, until `seconds` have passed. Loop c only
 * touches the working set's sites i with i mod connections = c, so no two
 * requests ever race on a site and every command is one its state allows:
 * any answer but the expected one is counted, never retried.
 */
export async function runMixedLoad(options: LoadOptions): Promise<LoadTally> {
  if (!options.base.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load ${options.base}: loopback only`);
  const url = new URL(options.base);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const suspended = Uint8Array.from({ length: options.workingSet }, (_, i) => (seededSuspended(i) ? 1 : 0));
  const tally: LoadTally = {
    seconds: options.seconds,
    requests: 0,
    byKind: Object.fromEntries(MIX.map(({ kind }) => [kind, { requests: 0, totalMs: 0, statuses: {} }])) as Record<
      LoadKind,
      KindTally
    >,
    serverErrors: 0,
    unexpected: 0,
    failed: 0,
    problems: [],
  };
  const cumulative: { kind: LoadKind; upTo: number }[] = [];
  let sum = 0;
  for (const { kind, perMille } of MIX) cumulative.push({ kind, upTo: (sum += perMille) / 1000 });

  const send = (call: Call): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: call.method,
          path: call.path,
          headers: {
            authorization: `Bearer ${options.token}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            ...call.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  const loop = async (c: number, deadline: number): Promise<void> => {
    const random = prng(c + 1);
    const slots = Math.ceil((options.workingSet - c) / options.connections);
    const pickSite = (): number => Math.floor(random() * slots) * options.connections + c;
    let registered = 0;
    const callFor = (kind: LoadKind): Call => {
      const i = pickSite();
      const siteId = soakSiteId(i);
      const r = random();
      switch (kind) {
        case 'read':
          return { method: 'GET', path: `/v1/sites/${siteId}`, expect: 200 };
        case 'read as of':
          return {
            method: 'GET',
            path: `/v1/sites/${siteId}?asOf=${pastMomentOf(i, Math.floor(r * 3))}`,
            expect: 200,
          };
        case 'history':
          return { method: 'GET', path: `/v1/sites/${siteId}/history?limit=50`, expect: 200 };
        case 'list':
          return {
            method: 'GET',
            path:
              r < 0.4
                ? `/v1/sites?status=suspended&asOf=${pastMoment(options.ledgerSites, random())}&limit=100`
                : r < 0.8
                  ? `/v1/sites?customerId=cust-${i % 7750}&limit=50`
                  : '/v1/sites?status=active&limit=100',
            expect: 200,
          };
        case 'stats':
          return {
            method: 'GET',
            path: r < 0.5 ? `/v1/stats?asOf=${pastMoment(options.ledgerSites, random())}` : '/v1/stats',
            expect: 200,
          };
        case 'audit': {
          if (r < 0.8) return { method: 'GET', path: `/v1/audit/events?siteId=${siteId}&limit=20`, expect: 200 };
          const from = historyStart() + Math.floor(random() * minutesToMs(3 * options.ledgerSites));
          const to = from + 24 * 3600_000;
          return {
            method: 'GET',
            path: `/v1/audit/events?type=SiteSuspended&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&limit=50`,
            expect: 200,
          };
        }
        case 'contacts':
          return {
            method: 'PUT',
            path: `/v1/sites/${siteId}/contacts`,
            body: { contacts: contactsFor(i, 2 + Math.floor(r * 1_000_000)) },
            expect: 200,
          };
        case 'suspend/reactivate': {
          const isSuspended = suspended[i] === 1;
          return {
            method: 'POST',
            path: `/v1/sites/${siteId}/${isSuspended ? 'reactivate' : 'suspend'}`,
            body: { reason: 'soak benchmark' },
            expect: 200,
            then: () => (suspended[i] = isSuspended ? 0 : 1),
          };
        }
        case 'register': {
          registered += 1;
          const newId = `soak-new-${options.label}-${c}-${registered}`;
          return {
            method: 'POST',
            path: '/v1/sites',
            headers: { 'idempotency-key': randomUUID() },
            body: {
              siteId: newId,
              customerId: `cust-${(i + registered) % 7750}`,
              name: `Site ${newId}`,
              region: r < 0.5 ? 'eu-west' : 'us-east',
              products: [{ installationId: `app-${newId}`, productKey: 'webshop' }],
              contacts: contactsFor(i, registered),
            },
            expect: 201,
          };
        }
        default: {
          const unknown: never = kind;
          throw new Error(`no request for ${String(unknown)}`);
        }
      }
    };
    while (performance.now() < deadline) {
      const draw = random();
      const kind = (cumulative.find((each) => draw < each.upTo) ?? cumulative.at(-1)!).kind;
      const call = callFor(kind);
      const counts = tally.byKind[kind];
      counts.requests += 1;
      tally.requests += 1;
      const sentAt = performance.now();
      try {
        const { status, body } = await send(call);
        counts.totalMs += performance.now() - sentAt;
        counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
        if (status === call.expect) {
          call.then?.();
          continue;
        }
        if (status >= 500) tally.serverErrors += 1;
        else tally.unexpected += 1;
        if (tally.problems.length < 5)
          tally.problems.push(`${call.method} ${call.path}: ${status} ${body.slice(0, 300)}`);
      } catch (error) {
        tally.failed += 1;
        if (tally.problems.length < 5) tally.problems.push(`${call.method} ${call.path}: ${String(error)}`);
      }
    }
  };

  const deadline = performance.now() + options.seconds * 1000;
  try {
    await Promise.all(Array.from({ length: options.connections }, (_, c) => loop(c, deadline)));
  } finally {
    agent.destroy();
  }
  return tally;
}
