import { join } from 'node:path';
import type { SQLiteConnection } from '@event-driven-io/emmett-sqlite';
import type { NewEvent } from '../../../src/event-store/event-envelope.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import { benchConfig, seedSites } from '../app.js';
import { closePeer, openPeerConnection, peerAppend, toPeerEvent, type PeerEvent } from '../emmett.js';
import { BENCH_CONTEXT, benchSiteId, contactsFor, openLedger, registration, timeOf } from '../fixtures.js';
import {
  figure,
  log,
  spread,
  summarize,
  tempDir,
  timeTasks,
  timingOf,
  type Figure,
  type SuiteOptions,
  type SuiteResult,
} from '../harness.js';
import { createKeys } from '../keys.js';
import { cpuNote, generatorCpu, load, startServer, type Load, type LoadRequest } from './http.js';
import { compareAppends } from '../postgres/append.js';
import { BENCH_POSTGRES_URL, inParallel, postgresUnreachable, withBenchDatabases } from '../postgres/databases.js';
import { scratchStreams } from '../postgres/ledger.js';
import { openRawLedger, rawRows, type RawLedger, type RawRow } from '../raw-sqlite.js';

/**
 * Concurrent callers, one event each, a durable commit each (issue 14,
 * point 1: group commit). Every figure is measured beside its peer in the
 * same run, in interleaved rounds:
 * - SQLite, at the store: SqliteEventStore.append from 1 and from 64
 *   callers at once (events sealed beforehand) beside Emmett's SQLite store
 *   and raw better-sqlite3 (one transaction per row);
 * - PostgreSQL, at the store: the postgres suite's append comparison
 *   (ours, store only, raw pg, Emmett's PostgreSQL store) with 32 and 64
 *   callers, each contender with a connection per caller;
 * - HTTP: PUT /v1/sites/:id/contacts on the SQLite service with 1 and 32
 *   connections; and with 32 connections, registrations and contact
 *   changes beside an Emmett HTTP server doing the same commands
 *   (bench/src/http/emmett-sites.ts).
 */

interface SealedStream {
  streamId: string;
  events: NewEvent[];
}

/** `count` registrations, sealed as the command path seals them, once: every contender stores the same bytes. */
async function sealedRegistrations(prefix: string, count: number): Promise<SealedStream[]> {
  const streams = scratchStreams();
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const siteId = benchSiteId(prefix, i);
      return {
        streamId: siteStreamId(siteId),
        events: await streams.prepare(siteId, [registration(siteId, i)], BENCH_CONTEXT, timeOf(0)),
      };
    }),
  );
}

/** A fresh data directory and what is opened on it, for each timed iteration. */
class Fresh<T> {
  #current: { value: T; dispose(): Promise<void> } | undefined;
  constructor(
    private readonly label: string,
    private readonly open: (dir: string) => Promise<T> | T,
    private readonly close: (value: T) => Promise<void> | void,
  ) {}
  async before(): Promise<void> {
    const dir = tempDir(this.label);
    const value = await this.open(dir.dir);
    this.#current = {
      value,
      dispose: async () => {
        await this.close(value);
        dir.dispose();
      },
    };
  }
  async after(): Promise<void> {
    await this.#current?.dispose();
    this.#current = undefined;
  }
  get value(): T {
    if (this.#current === undefined) throw new Error(`${this.label}: not open`);
    return this.#current.value;
  }
}

/**
 * One Emmett connection whose appends take turns: Emmett's SQLite
 * connection counts nested transactions, so two appends in flight on it
 * would share (and roll back) one transaction, and its public event store
 * shares one connection between calls and closes it after each. Each
 * append is its own transaction and fsync, as Emmett commits one.
 */
function takingTurns(connection: SQLiteConnection): (streamName: string, events: PeerEvent[]) => Promise<void> {
  let last: Promise<unknown> = Promise.resolve();
  return (streamName, events) => {
    const turn = last.then(() => peerAppend(connection, streamName, 0, events));
    last = turn.catch(() => undefined);
    return turn;
  };
}

async function compareSqlite(
  streams: readonly SealedStream[],
  callers: number,
  options: { rounds: number },
): Promise<Figure[]> {
  const label = `${streams.length.toLocaleString('en-US')} streams x 1 event, ${callers === 1 ? '1 caller' : `${callers} concurrent callers`}, a durable commit each`;
  const rows: RawRow[][] = streams.map(({ streamId, events }) => rawRows(streamId, events));
  const peerStreams = streams.map(({ streamId, events }) => ({
    streamName: streamId,
    events: events.map(toPeerEvent),
  }));
  const names = { ours: 'ours', raw: 'raw', peer: 'emmett' };
  const ours = new Fresh<SqliteEventStore>(
    'concurrent-ours',
    (dir) => new SqliteEventStore(join(dir, 'ledger.db')),
    (store) => store.close(),
  );
  const raw = new Fresh<RawLedger>(
    'concurrent-raw',
    (dir) => openRawLedger(join(dir, 'ledger.db')),
    (db) => db.close(),
  );
  const peer = new Fresh<SQLiteConnection>(
    'concurrent-emmett',
    (dir) => openPeerConnection(join(dir, 'emmett.db')),
    (connection) => closePeer(connection),
  );
  const timings = await timeTasks(
    [
      {
        name: names.ours,
        beforeEach: () => ours.before(),
        afterEach: () => ours.after(),
        run: async () => {
          const store = ours.value;
          await inParallel(streams, callers, async ({ streamId, events }) => {
            await store.append(streamId, 0, events);
          });
        },
      },
      {
        name: names.raw,
        beforeEach: () => raw.before(),
        afterEach: () => raw.after(),
        // Synchronous: callers could only take turns, so they do, one row per transaction.
        run: () => raw.value.insertEach(rows.flat()),
      },
      {
        name: names.peer,
        beforeEach: () => peer.before(),
        afterEach: () => peer.after(),
        run: async () => {
          const append = takingTurns(peer.value);
          await inParallel(peerStreams, callers, ({ streamName, events }) => append(streamName, events));
        },
      },
    ],
    { iterations: 1, warmup: 1, rounds: options.rounds },
  );
  const rate = (name: string) => (streams.length / timingOf(timings, name).medianMs) * 1000;
  log(
    `sqlite ${label}: ours ${rate(names.ours).toFixed(0)}/s (${spread(timingOf(timings, names.ours))}), raw ${rate(names.raw).toFixed(0)}/s, emmett ${rate(names.peer).toFixed(0)}/s (${spread(timingOf(timings, names.peer))})`,
  );
  return [
    figure({
      name: `sqlite append ${label}, store only vs Emmett`,
      value: rate(names.ours),
      unit: 'events/s',
      baseline: rate(names.peer),
      baselineName: `emmett-sqlite appendToStream on one connection (WAL, synchronous=FULL), the same sealed payloads, ${callers} callers taking turns (its connection cannot hold two appends at once), one transaction each`,
      better: 'higher',
      ...(callers === 64
        ? { target: "at least 10× Emmett's SQLite store", targetCheck: (f: Figure) => (f.ratio ?? 0) >= 10 }
        : {}),
      note: `ours ${spread(timingOf(timings, names.ours))}, emmett ${spread(timingOf(timings, names.peer))}; SqliteEventStore.append with the events sealed beforehand`,
    }),
    figure({
      name: `sqlite append ${label}, store only vs raw better-sqlite3`,
      value: rate(names.ours),
      unit: 'events/s',
      baseline: rate(names.raw),
      baselineName: 'raw better-sqlite3: the same rows, pre-hashed, one transaction (and fsync) per row',
      better: 'higher',
      note: `raw ${spread(timingOf(timings, names.raw))}`,
    }),
  ];
}

async function compareHttp(seconds: number): Promise<Figure[]> {
  const sites = 1_000;
  const data = tempDir('concurrent-http');
  try {
    const siteIds = Array.from({ length: sites }, (_, i) => benchSiteId('chttp', i));
    await seedSites(
      data.dir,
      siteIds.map((siteId, i) => ({ siteId, events: [registration(siteId, i)] })),
    );
    benchConfig(data.dir); // writes the token file the server reads
    const command = {
      method: 'PUT' as const,
      path: (n: number) => `/v1/sites/${siteIds[n % sites]!}/contacts`,
      // A different owner every time, so every request records an event.
      body: (n: number) =>
        JSON.stringify({ contacts: [{ name: `Owner ${n}`, email: `owner${n}@example.com`, role: 'owner' }] }),
    };
    const server = await startServer(['--mode', 'real', '--dir', data.dir]);
    const runs: (Load & { connections: number })[] = [];
    try {
      await load(server.url, 1, command, 32); // warm-up
      // Interleaved: the machine's pace moves within seconds.
      for (let round = 0; round < 2; round += 1) {
        for (const connections of [1, 32]) {
          const result = await load(server.url, seconds, command, connections, { serverPid: server.child.pid! });
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(
              `PUT contacts, ${connections} connections: ${result.non2xx} non-2xx, ${result.errors} errors`,
            );
          }
          runs.push({ connections, ...result });
          log(
            `http PUT contacts, ${connections} connections: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`,
          );
        }
      }
    } finally {
      await server.stop();
    }
    const of = (connections: number) => runs.filter((run) => run.connections === connections);
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
    const [one, many] = [of(1), of(32)];
    return [
      figure({
        name: 'HTTP site command PUT /v1/sites/:id/contacts, 32 connections, warm (sites folded before), throughput',
        value: mean(many.map((run) => run.rps)),
        unit: 'req/s',
        baseline: mean(one.map((run) => run.rps)),
        baselineName: 'the same route with 1 connection (one command at a time), same server, interleaved',
        better: 'higher',
        note: `${many.map((run) => run.rps.toFixed(0)).join(', ')} req/s over ${seconds} s runs (1 connection: ${one.map((run) => run.rps.toFixed(0)).join(', ')}); p99 ${many.map((run) => run.p99).join(', ')} ms; each seals contacts, appends with a durable commit and waits for the read models; sites read by the warm-up before; 32 connections: ${cpuNote(many)}; 1 connection: ${cpuNote(one)}`,
        loadGenerator: generatorCpu(many),
      }),
    ];
  } finally {
    data.dispose();
  }
}

/**
 * Emmett's copy of the sites the service is seeded with: the same keys
 * (keys.db) and the same sealed registrations in Emmett's SQLite store.
 */
async function seedEmmettSites(dir: string, siteIds: readonly string[]): Promise<void> {
  createKeys(join(dir, 'keys.db'), siteIds);
  const ledger = openLedger(dir); // for its codec on dir/keys.db (its ledger.db stays empty)
  const connection = await openPeerConnection(join(dir, 'emmett.db'));
  try {
    await connection.withTransaction(async () => {
      for (const [i, siteId] of siteIds.entries()) {
        const prepared = await ledger.streams.prepare(siteId, [registration(siteId, i)], BENCH_CONTEXT, timeOf(0));
        await peerAppend(connection, siteStreamId(siteId), 0, prepared.map(toPeerEvent));
      }
    });
  } finally {
    closePeer(connection);
    await ledger.close();
  }
}

/** A registration's body as the service's POST /v1/sites takes it (the fixture's event data). */
function registrationBody(siteId: string, i: number): string {
  const { deletionProtection: _unused, ...body } = registration(siteId, i).data as { deletionProtection: boolean };
  return JSON.stringify(body);
}

/**
 * Registrations and contact changes over HTTP with 32 connections, the
 * service beside an Emmett HTTP server doing the same commands on Emmett's
 * SQLite store (bench/src/http/emmett-sites.ts), each in its own process.
 * Both run the same fixed number of requests per round, in short
 * interleaved rounds (ours then Emmett, then Emmett then ours, …).
 */
async function compareHttpWithEmmett(options: { amount: number; rounds: number }): Promise<Figure[]> {
  const sites = 1_000;
  const connections = 32;
  const ours = tempDir('concurrent-http-ours');
  const peer = tempDir('concurrent-http-emmett');
  const figures: Figure[] = [];
  try {
    const siteIds = Array.from({ length: sites }, (_, i) => benchSiteId('chttpe', i));
    await seedSites(
      ours.dir,
      siteIds.map((siteId, i) => ({ siteId, events: [registration(siteId, i)] })),
    );
    benchConfig(ours.dir); // writes the token file the server reads
    await seedEmmettSites(peer.dir, siteIds);
    // `tag` makes every request of every round new: a new site, or contacts the site does not have yet.
    const workloads: { name: string; request: (tag: string) => LoadRequest; what: string }[] = [
      {
        name: 'HTTP site registration POST /v1/sites, 32 connections, throughput vs Emmett',
        request: (tag) => ({
          method: 'POST',
          path: () => '/v1/sites',
          body: (n) => registrationBody(benchSiteId(`hreg-${tag}`, n), n),
        }),
        what: 'each registers a new site (a new stream: nothing to fold): creates its data key in keys.db (a durable commit), seals two contacts, appends the SiteRegistered event with expected version 0 (a durable commit)',
      },
      {
        name: 'HTTP site command PUT /v1/sites/:id/contacts, 32 connections, warm (sites folded before), throughput vs Emmett',
        request: (tag) => ({
          method: 'PUT',
          path: (n) => `/v1/sites/${siteIds[n % sites]!}/contacts`,
          body: (n) => JSON.stringify({ contacts: contactsFor(n, Number(tag.replace(/\D/g, '')) + 1).slice(0, 1) }),
        }),
        what: `each replaces the contacts of one of ${sites} seeded sites (round-robin): loads the site, seals the contact, appends with the expected version (a durable commit); ours reads from its fold cache (sites changed before), Emmett has none and reads the whole stream`,
      },
    ];
    const servers = {
      ours: await startServer(['--mode', 'real', '--dir', ours.dir]),
      emmett: await startServer(['--mode', 'emmett', '--dir', peer.dir]),
    };
    try {
      const runs = new Map<string, Load[]>();
      const run = async (contender: 'ours' | 'emmett', workload: number, tag: string, amount: number) => {
        const server = servers[contender];
        const result = await load(server.url, 0, workloads[workload]!.request(tag), connections, {
          serverPid: server.child.pid!,
          amount,
        });
        if (result.non2xx > 0 || result.errors > 0)
          throw new Error(
            `${contender}, ${workloads[workload]!.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`,
          );
        return result;
      };
      for (const [w] of workloads.entries()) {
        for (const contender of ['ours', 'emmett'] as const) await run(contender, w, 'w0', 200); // warm-up
      }
      for (let round = 0; round < options.rounds; round += 1) {
        for (const [w, workload] of workloads.entries()) {
          const order = round % 2 === 0 ? (['ours', 'emmett'] as const) : (['emmett', 'ours'] as const);
          for (const contender of order) {
            const result = await run(contender, w, `r${round + 1}`, options.amount);
            const key = `${w} ${contender}`;
            runs.set(key, [...(runs.get(key) ?? []), result]);
            log(
              `${workload.name}, round ${round + 1}, ${contender}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms; ${cpuNote([result])}`,
            );
          }
        }
      }
      for (const [w, workload] of workloads.entries()) {
        const oursRuns = runs.get(`${w} ours`)!;
        const peerRuns = runs.get(`${w} emmett`)!;
        const median = (values: Load[]) =>
          summarize(
            workload.name,
            values.map((each) => each.rps),
          ).medianMs;
        const list = (values: Load[]) => values.map((each) => each.rps.toFixed(0)).join(', ');
        figures.push(
          figure({
            name: workload.name,
            value: median(oursRuns),
            unit: 'req/s',
            baseline: median(peerRuns),
            baselineName:
              "a NestJS app in its own process doing the same command on Emmett's SQLite store (emmett-sqlite 0.38.5, WAL, synchronous=FULL, one connection whose appends take turns): Emmett's readStream + our evolve, our decider, contacts sealed with the same codec and key store, appendToStream with the expected version, retried on a conflict; the same request bodies and stored bytes; no validation pipe, no hash chain, no read models to wait for",
            better: 'higher',
            note:
              `median of ${options.rounds} interleaved rounds of ${options.amount} requests each (${connections} connections); ours ${list(oursRuns)} req/s, p99 ${oursRuns.map((each) => each.p99).join(', ')} ms; ` +
              `emmett ${list(peerRuns)} req/s, p99 ${peerRuns.map((each) => each.p99).join(', ')} ms; ${workload.what}; ours also answers after its read models applied the event; ` +
              `ours: ${cpuNote(oursRuns)}; emmett: ${cpuNote(peerRuns)}`,
            loadGenerator: generatorCpu(oursRuns),
          }),
        );
      }
    } finally {
      await servers.ours.stop();
      await servers.emmett.stop();
    }
  } finally {
    ours.dispose();
    peer.dispose();
  }
  return figures;
}

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const figures: Figure[] = [];
  const omissions: SuiteResult['omissions'] = [];
  const rounds = quick ? 3 : 6;
  figures.push(...(await compareSqlite(await sealedRegistrations('c1', quick ? 200 : 400), 1, { rounds })));
  figures.push(...(await compareSqlite(await sealedRegistrations('c64', quick ? 640 : 1_280), 64, { rounds })));

  const unreachable = await postgresUnreachable();
  if (unreachable === undefined) {
    await withBenchDatabases(
      ['conc_ours', 'conc_store', 'conc_raw', 'conc_emmett'],
      async ([ours, store, raw, peer]) => {
        const databases = { ours: ours!, store: store!, raw: raw!, peer: peer! };
        for (const callers of [32, 64]) {
          figures.push(
            ...(await compareAppends(databases, {
              streams: quick ? 640 : 1_280,
              events: 1,
              callers,
              iterations: 1,
              rounds: quick ? 2 : 4,
            })),
          );
        }
      },
    );
  } else {
    omissions.push({
      name: 'postgres concurrent appends',
      reason: `no PostgreSQL at ${BENCH_POSTGRES_URL} (${unreachable})`,
    });
  }

  figures.push(...(await compareHttp(quick ? 4 : 10)));
  figures.push(...(await compareHttpWithEmmett({ amount: quick ? 500 : 2_000, rounds: quick ? 2 : 4 })));
  return { suite: 'concurrent', figures, omissions, facts: {} };
}
