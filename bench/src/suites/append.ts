import { join } from 'node:path';
import type { SQLiteConnection } from '@event-driven-io/emmett-sqlite';
import type { NewEvent } from '../../../src/event-store/event-envelope.js';
import type { StreamAppend } from '../../../src/event-store/event-store.port.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import type { SiteEvent } from '../../../src/sites/domain/site.events.js';
import { closePeer, openPeerConnection, peerAppend, toPeerEvent, type PeerEvent } from '../emmett.js';
import {
  BENCH_CONTEXT,
  benchSiteId,
  openLedger,
  registration,
  siteHistory,
  timeOf,
  type LedgerFiles,
} from '../fixtures.js';
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
import { envelopeCosts } from '../envelope-costs.js';
import { createKeys } from '../keys.js';
import { openRawLedger, rawRows, type RawLedger, type RawRow } from '../raw-sqlite.js';

interface Workload {
  /** Decided (plaintext) events per site, what the command path hands to SiteStreams. */
  sites: { siteId: string; events: SiteEvent[] }[];
  /** The same events sealed and stamped once, for the peers (they store what we store). */
  rows: RawRow[];
  peer: { streamName: string; events: PeerEvent[] }[];
  events: number;
}

/** Seals the workload once with a scratch ledger so the baselines get byte-for-byte the same payloads. */
async function workload(sites: { siteId: string; events: SiteEvent[] }[]): Promise<Workload> {
  const scratch = tempDir('append-fixture');
  const ledger = openLedger(scratch.dir);
  try {
    const rows: RawRow[] = [];
    const peer: Workload['peer'] = [];
    for (const { siteId, events } of sites) {
      const prepared = await ledger.streams.prepare(siteId, events, BENCH_CONTEXT, timeOf(0));
      rows.push(...rawRows(siteStreamId(siteId), prepared));
      peer.push({ streamName: siteStreamId(siteId), events: prepared.map(toPeerEvent) });
    }
    return { sites, rows, peer, events: rows.length };
  } finally {
    await ledger.close();
    scratch.dispose();
  }
}

/** Fresh data directories for each iteration of each contender. */
class Fresh<T> {
  current: { value: T; dispose(): Promise<void> } | undefined;
  constructor(
    private readonly label: string,
    private readonly open: (dir: string) => Promise<T>,
    private readonly close: (value: T) => Promise<void> | void,
  ) {}
  async before(): Promise<void> {
    const dir = tempDir(this.label);
    const value = await this.open(dir.dir);
    this.current = {
      value,
      dispose: async () => {
        await this.close(value);
        dir.dispose();
      },
    };
  }
  async after(): Promise<void> {
    await this.current?.dispose();
    this.current = undefined;
  }
  get value(): T {
    if (!this.current) throw new Error(`${this.label}: not open`);
    return this.current.value;
  }
}

/** Ours: seal contacts (SiteStreams.prepare) and append, with the hash chain sealed by the store. */
async function oursPrepared(ledger: LedgerFiles, sites: Workload['sites']): Promise<StreamAppend[]> {
  const appends: StreamAppend[] = [];
  for (const { siteId, events } of sites) {
    // One prepare per stream, as a command (or a revert of many events) does.
    const prepared: NewEvent[] = await ledger.streams.prepare(siteId, events, BENCH_CONTEXT, timeOf(0));
    appends.push({ streamId: siteStreamId(siteId), expectedVersion: 0, events: prepared });
  }
  return appends;
}

async function compare(
  label: string,
  load: Workload,
  mode: 'one-transaction' | 'commit-each',
  options: { iterations: number; rounds: number },
): Promise<Figure[]> {
  const siteIds = load.sites.map((site) => site.siteId);
  const ours = new Fresh<LedgerFiles>(
    `${label}-ours`,
    async (dir) => {
      // Data keys exist already (created in one untimed transaction): key
      // creation is the key store's cost, paid once per site, not the event store's.
      createKeys(join(dir, 'keys.db'), siteIds);
      return openLedger(dir);
    },
    (ledger) => ledger.close(),
  );
  // The store alone: the same appends sealed beforehand, so only the hash chain and the writes are timed.
  const storeOnly = new Fresh<{ ledger: LedgerFiles; appends: StreamAppend[] }>(
    `${label}-store`,
    async (dir) => {
      createKeys(join(dir, 'keys.db'), siteIds);
      const ledger = openLedger(dir);
      return { ledger, appends: await oursPrepared(ledger, load.sites) };
    },
    ({ ledger }) => ledger.close(),
  );
  const raw = new Fresh<RawLedger>(
    `${label}-raw`,
    (dir) => openRawLedger(join(dir, 'ledger.db')),
    (db) => db.close(),
  );
  const peer = new Fresh<SQLiteConnection>(
    `${label}-emmett`,
    (dir) => openPeerConnection(join(dir, 'emmett.db')),
    (connection) => closePeer(connection),
  );
  const names = { ours: `${label} ours`, store: `${label} store only`, raw: `${label} raw`, peer: `${label} emmett` };
  const storeTask =
    mode === 'one-transaction'
      ? [
          {
            name: names.store,
            beforeEach: () => storeOnly.before(),
            afterEach: () => storeOnly.after(),
            run: async () => void (await storeOnly.value.ledger.store.appendMany(storeOnly.value.appends)),
          },
        ]
      : [];
  const timings = await timeTasks(
    [
      ...storeTask,
      {
        name: names.ours,
        beforeEach: () => ours.before(),
        afterEach: () => ours.after(),
        run: async () => {
          const ledger = ours.value;
          if (mode === 'one-transaction') {
            await ledger.store.appendMany(await oursPrepared(ledger, load.sites));
          } else {
            for (const site of load.sites) {
              const [append] = await oursPrepared(ledger, [site]);
              await ledger.store.append(append!.streamId, 0, append!.events);
            }
          }
        },
      },
      {
        name: names.raw,
        beforeEach: () => raw.before(),
        afterEach: () => raw.after(),
        run: () => (mode === 'one-transaction' ? raw.value.insertAll(load.rows) : raw.value.insertEach(load.rows)),
      },
      {
        name: names.peer,
        beforeEach: () => peer.before(),
        afterEach: () => peer.after(),
        run: async () => {
          const connection = peer.value;
          const appendAll = async () => {
            for (const stream of load.peer) await peerAppend(connection, stream.streamName, 0, stream.events);
          };
          if (mode === 'one-transaction') await connection.withTransaction(appendAll);
          else await appendAll();
        },
      },
    ],
    { iterations: options.iterations, warmup: 1, rounds: options.rounds },
  );
  const rate = (name: string) => (load.events / timingOf(timings, name).medianMs) * 1000;
  const oursRate = rate(names.ours);
  const oursNote = spread(timingOf(timings, names.ours));
  log(
    `${label}: ours ${oursRate.toFixed(0)}/s${storeTask.length > 0 ? ` (store only ${rate(names.store).toFixed(0)}/s)` : ''}, raw ${rate(names.raw).toFixed(0)}/s, emmett ${rate(names.peer).toFixed(0)}/s`,
  );
  const vsRaw = mode === 'one-transaction' ? 'at least 25% of raw better-sqlite3 (ratio >= 0.25)' : undefined;
  const vsPeer = mode === 'one-transaction' ? "at least 2x Emmett's SQLite store (ratio >= 2)" : undefined;
  return [
    figure({
      name: `append ${label} vs raw better-sqlite3`,
      value: oursRate,
      unit: 'events/s',
      baseline: rate(names.raw),
      baselineName: `raw better-sqlite3: the same rows, pre-sealed and pre-hashed, ${mode === 'one-transaction' ? 'in one transaction' : 'one transaction per stream'}`,
      better: 'higher',
      ...(vsRaw ? { target: vsRaw, targetCheck: (f: Figure) => (f.ratio ?? 0) >= 0.25 } : {}),
      note: `${oursNote}; ours seals contacts (AES-256-GCM) and the hash chain inside the timing`,
    }),
    figure({
      name: `append ${label} vs Emmett`,
      value: oursRate,
      unit: 'events/s',
      baseline: rate(names.peer),
      baselineName: `emmett-sqlite appendToStream, the same sealed payloads, ${mode === 'one-transaction' ? 'all in one withTransaction' : 'one transaction per stream'}`,
      better: 'higher',
      ...(vsPeer ? { target: vsPeer, targetCheck: (f: Figure) => (f.ratio ?? 0) >= 2 } : {}),
      note: `emmett ${spread(timingOf(timings, names.peer))}`,
    }),
    ...(storeTask.length > 0
      ? [
          figure({
            name: `append ${label}, store only (contacts sealed beforehand) vs raw better-sqlite3`,
            value: rate(names.store),
            unit: 'events/s',
            baseline: rate(names.raw),
            baselineName: 'raw better-sqlite3: the same rows, pre-hashed, in one transaction',
            better: 'higher',
            note: `${spread(timingOf(timings, names.store))}; SqliteEventStore.appendMany alone: version checks, hash chain, serialisation, inserts`,
          }),
        ]
      : []),
  ];
}

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const figures: Figure[] = [];
  const streams = 10_000;
  const manyStreams = await workload(
    Array.from({ length: streams }, (_, i) => {
      const siteId = benchSiteId('a', i);
      return { siteId, events: [registration(siteId, i)] };
    }),
  );
  figures.push(
    ...(await compare('10,000 streams x 1 event, one commit', manyStreams, 'one-transaction', {
      iterations: quick ? 1 : 2,
      rounds: 3,
    })),
  );
  const longStream = await workload([{ siteId: 'long', events: siteHistory('long', 1_000) }]);
  figures.push(
    ...(await compare('1 stream x 1,000 events, one commit', longStream, 'one-transaction', {
      iterations: quick ? 4 : 8,
      rounds: 3,
    })),
  );
  const durable = quick ? 200 : 1_000;
  const perCommit = await workload(
    Array.from({ length: durable }, (_, i) => {
      const siteId = benchSiteId('d', i);
      return { siteId, events: [registration(siteId, i)] };
    }),
  );
  figures.push(
    ...(await compare(
      `${durable.toLocaleString('en-US')} streams x 1 event, a durable commit each`,
      perCommit,
      'commit-each',
      {
        iterations: 1,
        rounds: quick ? 2 : 3,
      },
    )),
  );
  // Per-event costs (µs) behind the rates above, and the envelope's steps measured one by one.
  const facts: Record<string, string> = {};
  for (const each of figures) {
    if (each.unit !== 'events/s' || each.baseline === null) continue;
    facts[`per event, ${each.name}`] =
      `${(1e6 / each.value).toFixed(2)} µs, baseline ${(1e6 / each.baseline).toFixed(2)} µs (1,000,000 / the rates)`;
  }
  Object.assign(facts, await envelopeCosts(quick ? 2_000 : 10_000));
  return { suite: 'append', figures, omissions: [], facts };
}
