import { join } from 'node:path';
import type { SQLiteConnection } from '@event-driven-io/emmett-sqlite';
import type { NewEvent } from '../../../src/event-store/event-envelope.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import { benchConfig, seedSites } from '../app.js';
import { closePeer, openPeerConnection, peerAppend, toPeerEvent, type PeerEvent } from '../emmett.js';
import { BENCH_CONTEXT, benchSiteId, registration, timeOf } from '../fixtures.js';
import {
  figure,
  log,
  spread,
  tempDir,
  timeTasks,
  timingOf,
  type Figure,
  type SuiteOptions,
  type SuiteResult,
} from '../harness.js';
import { load, startServer } from './http.js';
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
 *   connections.
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
    const runs: { connections: number; rps: number; p50: number; p99: number; requests: number }[] = [];
    try {
      await load(server.url, 1, command, 32); // warm-up
      // Interleaved: the machine's pace moves within seconds.
      for (let round = 0; round < 2; round += 1) {
        for (const connections of [1, 32]) {
          const result = await load(server.url, seconds, command, connections);
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
        name: 'HTTP site command PUT /v1/sites/:id/contacts, 32 connections, throughput',
        value: mean(many.map((run) => run.rps)),
        unit: 'req/s',
        baseline: mean(one.map((run) => run.rps)),
        baselineName: 'the same route with 1 connection (one command at a time), same server, interleaved',
        better: 'higher',
        note: `${many.map((run) => run.rps.toFixed(0)).join(', ')} req/s over ${seconds} s runs (1 connection: ${one.map((run) => run.rps.toFixed(0)).join(', ')}); p99 ${many.map((run) => run.p99).join(', ')} ms; each seals contacts, appends with a durable commit and waits for the read models`,
      }),
    ];
  } finally {
    data.dispose();
  }
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
  return { suite: 'concurrent', figures, omissions, facts: {} };
}
