import type { NewEvent } from '../../../src/event-store/event-envelope.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import type { SiteEvent } from '../../../src/sites/domain/site.events.js';
import { openPostgresPeer, type PeerEvent, type PostgresPeer } from '../../peers/postgres/emmett-postgres.js';
import { BENCH_CONTEXT, benchSiteId, registration, siteHistory, timeOf } from '../fixtures.js';
import { figure, log, spread, timeTasks, timingOf, type Figure } from '../harness.js';
import { inParallel, type BenchDatabase } from './databases.js';
import {
  createPostgresKeys,
  openPostgresLedger,
  pgRows,
  scratchStreams,
  type PgRow,
  type PostgresLedger,
} from './ledger.js';
import { openRawPg, type RawPg } from './raw-pg.js';

/** The four contenders, each on its own throwaway database. */
export interface AppendDatabases {
  ours: BenchDatabase;
  store: BenchDatabase;
  raw: BenchDatabase;
  peer: BenchDatabase;
}

interface Site {
  siteId: string;
  events: SiteEvent[];
}

let generation = 0;

/**
 * `count` new sites (new IDs every call: every iteration appends to streams
 * that do not exist yet), with a registration each, or a history of `events`.
 */
function newSites(count: number, events: number): Site[] {
  generation += 1;
  return Array.from({ length: count }, (_, i) => {
    const siteId = benchSiteId(`pa${generation}`, i);
    return { siteId, events: events === 1 ? [registration(siteId, i)] : siteHistory(siteId, events) };
  });
}

/** The same events sealed and stamped as our command path does, for the baselines (they store what we store). */
async function sealed(sites: readonly Site[]): Promise<{ streamId: string; events: NewEvent[] }[]> {
  const streams = scratchStreams();
  return Promise.all(
    sites.map(async ({ siteId, events }) => ({
      streamId: siteStreamId(siteId),
      events: await streams.prepare(siteId, events, BENCH_CONTEXT, timeOf(0)),
    })),
  );
}

/** Our event as Emmett stores it; our eventId rides in the metadata, as for the SQLite peer. */
function toPeerEvent(event: NewEvent): PeerEvent {
  return {
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata, eventId: event.eventId },
  };
}

/** Setup before an iteration and teardown after it, untimed; one contender's pool open at a time. */
class PerIteration<T> {
  #value: T | undefined;
  constructor(
    private readonly label: string,
    private readonly open: () => Promise<T>,
    private readonly close: (value: T) => Promise<void>,
  ) {}
  async before(): Promise<void> {
    this.#value = await this.open();
  }
  async after(): Promise<void> {
    if (this.#value !== undefined) await this.close(this.#value);
    this.#value = undefined;
  }
  get value(): T {
    if (this.#value === undefined) throw new Error(`${this.label}: not open`);
    return this.#value;
  }
}

/**
 * One append (one commit) to each of `streams` new streams with `events`
 * events each, by `callers` callers at once (1: one after another). Every
 * contender has one connection per caller, opened before the timing.
 */
export async function compareAppends(
  databases: AppendDatabases,
  options: { streams: number; events: number; callers: number; iterations: number; rounds: number },
): Promise<Figure[]> {
  const { streams: appends, events: perStream, callers } = options;
  const count = (n: number) => n.toLocaleString('en-US');
  const label =
    appends === 1
      ? `1 stream x ${count(perStream)} events, one commit`
      : `${count(appends)} streams x ${count(perStream)} event${perStream === 1 ? '' : 's'}, ${callers === 1 ? '1 caller' : `${callers} concurrent callers`}, a durable commit each`;
  const names = { ours: 'ours', store: 'store only', raw: 'raw pg', peer: 'emmett' };

  // Ours: the command path's SiteStreams.prepare (contacts sealed under the site's key, looked up in
  // site_keys) and PostgresEventStore.append, inside the timing. Keys exist beforehand.
  const ours = new PerIteration<{ ledger: PostgresLedger; sites: Site[] }>(
    names.ours,
    async () => {
      const sites = newSites(appends, perStream);
      const ledger = await openPostgresLedger(databases.ours.url, callers);
      await createPostgresKeys(
        ledger.connection.pool,
        sites.map((site) => site.siteId),
      );
      return { ledger, sites };
    },
    ({ ledger }) => ledger.close(),
  );
  // The store alone: the same appends sealed beforehand.
  const store = new PerIteration<{ ledger: PostgresLedger; streams: { streamId: string; events: NewEvent[] }[] }>(
    names.store,
    async () => {
      const sites = newSites(appends, perStream);
      const ledger = await openPostgresLedger(databases.store.url, callers);
      await createPostgresKeys(
        ledger.connection.pool,
        sites.map((site) => site.siteId),
      );
      const streams = await Promise.all(
        sites.map(async ({ siteId, events }) => ({
          streamId: siteStreamId(siteId),
          events: await ledger.streams.prepare(siteId, events, BENCH_CONTEXT, timeOf(0)),
        })),
      );
      return { ledger, streams };
    },
    ({ ledger }) => ledger.close(),
  );
  const raw = new PerIteration<{ db: RawPg; streams: PgRow[][] }>(
    names.raw,
    async () => {
      const streams = await sealed(newSites(appends, perStream));
      return {
        db: await openRawPg(databases.raw.url, callers),
        streams: streams.map(({ streamId, events }) => pgRows(streamId, events)),
      };
    },
    ({ db }) => db.close(),
  );
  const peer = new PerIteration<{ peer: PostgresPeer; streams: { streamName: string; events: PeerEvent[] }[] }>(
    names.peer,
    async () => {
      const streams = await sealed(newSites(appends, perStream));
      return {
        peer: await openPostgresPeer(databases.peer.url, callers),
        streams: streams.map(({ streamId, events }) => ({ streamName: streamId, events: events.map(toPeerEvent) })),
      };
    },
    ({ peer: opened }) => opened.close(),
  );

  const timings = await timeTasks(
    [
      {
        name: names.ours,
        beforeEach: () => ours.before(),
        afterEach: () => ours.after(),
        run: async () => {
          const { ledger, sites } = ours.value;
          await inParallel(sites, callers, async ({ siteId, events }) => {
            const prepared = await ledger.streams.prepare(siteId, events, BENCH_CONTEXT, timeOf(0));
            await ledger.store.append(siteStreamId(siteId), 0, prepared);
          });
        },
      },
      {
        name: names.store,
        beforeEach: () => store.before(),
        afterEach: () => store.after(),
        run: async () => {
          const { ledger, streams } = store.value;
          await inParallel(streams, callers, async ({ streamId, events }) => {
            await ledger.store.append(streamId, 0, events);
          });
        },
      },
      {
        name: names.raw,
        beforeEach: () => raw.before(),
        afterEach: () => raw.after(),
        run: async () => {
          const { db, streams } = raw.value;
          await inParallel(streams, callers, (rows) =>
            rows.length === 1 ? db.insertOne(rows[0]!) : db.insertMany(db.pool, rows),
          );
        },
      },
      {
        name: names.peer,
        beforeEach: () => peer.before(),
        afterEach: () => peer.after(),
        run: async () => {
          const { peer: opened, streams } = peer.value;
          await inParallel(streams, callers, ({ streamName, events }) => opened.append(streamName, 0, events));
        },
      },
    ],
    { iterations: options.iterations, rounds: options.rounds },
  );
  const rate = (name: string) => ((appends * perStream) / timingOf(timings, name).medianMs) * 1000;
  log(
    `${label}: ours ${rate(names.ours).toFixed(0)}/s (store only ${rate(names.store).toFixed(0)}/s), raw pg ${rate(names.raw).toFixed(0)}/s, emmett ${rate(names.peer).toFixed(0)}/s`,
  );
  const how =
    appends === 1
      ? 'in one commit'
      : callers === 1
        ? 'one after another'
        : `${callers} callers at once, one connection each`;
  const rawHow = appends === 1 ? 'one multi-row INSERT (unnest, as ours)' : 'one autocommit INSERT each';
  return [
    figure({
      name: `postgres append ${label} vs raw pg`,
      value: rate(names.ours),
      unit: 'events/s',
      baseline: rate(names.raw),
      baselineName: `raw pg: the same rows, pre-sealed and pre-hashed, ${rawHow}, ${how}`,
      better: 'higher',
      note: `${spread(timingOf(timings, names.ours))}, raw ${spread(timingOf(timings, names.raw))}; ours seals contacts (key looked up in site_keys) and chains inside the timing`,
    }),
    figure({
      name: `postgres append ${label} vs Emmett`,
      value: rate(names.ours),
      unit: 'events/s',
      baseline: rate(names.peer),
      baselineName: `emmett-postgresql appendToStream, the same sealed payloads, one call per stream, ${how}`,
      better: 'higher',
      ...(callers === 32
        ? { target: "at least 2× Emmett's PostgreSQL store", targetCheck: (f: Figure) => (f.ratio ?? 0) >= 2 }
        : {}),
      note: `ours ${spread(timingOf(timings, names.ours))}, emmett ${spread(timingOf(timings, names.peer))}; store only vs Emmett: ${(rate(names.store) / rate(names.peer)).toFixed(2)}x`,
    }),
    figure({
      name: `postgres append ${label}, store only (contacts sealed beforehand) vs raw pg`,
      value: rate(names.store),
      unit: 'events/s',
      baseline: rate(names.raw),
      baselineName: `raw pg: the same rows, ${rawHow}, ${how}`,
      better: 'higher',
      note: `${spread(timingOf(timings, names.store))}; PostgresEventStore.append alone: append lock, head read, chain, insert, NOTIFY, commit`,
    }),
  ];
}
