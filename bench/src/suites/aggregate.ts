import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import type { ReadEvent } from '@event-driven-io/emmett';
import type { SQLiteConnection } from '@event-driven-io/emmett-sqlite';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { evolveSite } from '../../../src/sites/domain/site.decider.js';
import { initialSiteState, type SiteState } from '../../../src/sites/domain/site.state.js';
import { SiteSnapshots } from '../../../src/sites/site-snapshots.js';
import { SiteStreams } from '../../../src/sites/site-streams.js';
import { SnapshotFile } from '../../../src/snapshots/snapshot-file.js';
import { closePeer, openPeerConnection, peerAggregate, peerAppend, toPeerEvent, type PeerEvent } from '../emmett.js';
import { openPeerContacts, peerOccurredAt, recordedOfPeerEvent } from '../peer-events.js';
import { EPOCH_MS, openLedger, prepareTimeline, siteHistory, type LedgerFiles } from '../fixtures.js';
import {
  figure,
  log,
  spread,
  tempDir,
  timeInterleaved,
  timeTasks,
  timingOf,
  type Figure,
  type SuiteOptions,
  type SuiteResult,
} from '../harness.js';

const STEP_MS = 60_000; // fixtures.timeOf: one event a minute

/** A deterministic PRNG (mulberry32): the same "random" times in every run and for both contenders. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Emmett folding the same events into the same state, doing what our load
 * does (SiteStreams.load): the same evolve over the events with contacts
 * still sealed, then the result's contacts opened once with the same key;
 * for a point-in-time read the events after the time are left out (Emmett
 * reads by stream position only, so it reads the whole stream). On the one
 * connection the suite opened, as our store reads on its one connection.
 */
async function peerLoad(
  peer: SQLiteConnection,
  ledger: LedgerFiles,
  siteId: string,
  toTimeMs?: number,
): Promise<SiteState> {
  const { state } = await peerAggregate<SiteState>(
    peer,
    siteStreamId(siteId),
    () => initialSiteState,
    (current: SiteState, event: ReadEvent<PeerEvent>) =>
      toTimeMs !== undefined && Date.parse(peerOccurredAt(event)) > toTimeMs
        ? current
        : evolveSite(current, recordedOfPeerEvent(event)),
  );
  return openPeerContacts(ledger.codec, siteId, state);
}

const PEER_LOAD =
  "emmett-sqlite's aggregateStream (its readStream, then the same evolve over the events with contacts sealed, the result's contacts opened once with the same key), on one connection opened once for the suite; Emmett has no fold cache: every read is a full read";

/** µs per event, for a fact. */
const perEvent = (ms: number, events: number): string => `${((ms * 1000) / events).toFixed(2)} µs`;

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const data = tempDir('aggregate');
  const ledger = openLedger(data.dir);
  const peerFile = join(data.dir, 'emmett.db');
  // Emmett's one connection for the whole suite: filled here, read by every timed call below.
  const peer = await openPeerConnection(peerFile);
  const lengths = [1_000, 10_000];
  const figures: Figure[] = [];
  const facts: Record<string, string> = {};
  try {
    for (const length of lengths) {
      const siteId = `agg-${length}`;
      const prepared = await prepareTimeline(ledger.streams, siteId, siteHistory(siteId, length));
      for (let start = 0; start < prepared.length; start += 1_000) {
        const chunk = prepared.slice(start, start + 1_000);
        await ledger.store.append(siteStreamId(siteId), start, chunk);
        await peer.withTransaction(() => peerAppend(peer, siteStreamId(siteId), start, chunk.map(toPeerEvent)));
      }
    }
  } catch (error) {
    closePeer(peer);
    throw error;
  }
  // The service's snapshot file (src/snapshots): written by the first fold of each stream below.
  const snapshotFile = new SnapshotFile(join(data.dir, 'snapshots.db'));
  const snapshots = new SiteSnapshots(snapshotFile, randomBytes(32));

  try {
    for (const length of lengths) {
      const siteId = `agg-${length}`;
      const label = `${length.toLocaleString('en-US')}-event stream`;
      // Same answer from both, or the comparison means nothing.
      const ours = await new SiteStreams(ledger.store, ledger.codec).load(siteId);
      if (!isDeepStrictEqual(ours.state, await peerLoad(peer, ledger, siteId))) {
        throw new Error(`${label}: our fold and Emmett's differ`);
      }
      const warm = new SiteStreams(ledger.store, ledger.codec);
      await warm.load(siteId);
      const iterations = quick ? (length > 1_000 ? 5 : 10) : length > 1_000 ? 15 : 40;
      const names = { cold: `${label} ours cold`, warm: `${label} ours warm`, peer: `${label} emmett` };
      const timings = await timeTasks(
        [
          // A new SiteStreams has an empty fold cache: every event is read and folded.
          { name: names.cold, run: async () => void (await new SiteStreams(ledger.store, ledger.codec).load(siteId)) },
          { name: names.warm, run: async () => void (await warm.load(siteId)) },
          { name: names.peer, run: async () => void (await peerLoad(peer, ledger, siteId)) },
        ],
        { iterations, warmup: 2, rounds: quick ? 1 : 2 },
      );
      const peerMs = timingOf(timings, names.peer).medianMs;
      log(
        `${label}: ours cold ${timingOf(timings, names.cold).medianMs.toFixed(2)} ms, warm ${timingOf(timings, names.warm).medianMs.toFixed(3)} ms, emmett ${peerMs.toFixed(2)} ms`,
      );
      const coldMs = timingOf(timings, names.cold).medianMs;
      facts[`fold per event, ${label}, ours cold (full replay median / ${length} events)`] =
        `${perEvent(coldMs, length)} (read, chain check, evolve; contacts opened once)`;
      facts[`fold per event, ${label}, emmett (aggregateStream median / ${length} events)`] = perEvent(peerMs, length);
      figures.push(
        figure({
          name: `aggregate load, ${label}, cold: first read, full replay`,
          value: coldMs,
          unit: 'ms',
          baseline: peerMs,
          baselineName: PEER_LOAD,
          better: 'lower',
          note: `${spread(timingOf(timings, names.cold))}, emmett ${spread(timingOf(timings, names.peer))}; a new SiteStreams per read (empty fold cache, no snapshots): every event read, chain-checked and folded; the store's connection and the OS file cache are warm in both contenders`,
        }),
        figure({
          name: `aggregate load, ${label}, warm: cached fold`,
          value: timingOf(timings, names.warm).medianMs,
          unit: 'ms',
          baseline: peerMs,
          baselineName: PEER_LOAD,
          better: 'lower',
          note: `${spread(timingOf(timings, names.warm))}; the stream was folded before by the same SiteStreams: one query for newer events (none), one key lookup, the contacts opened; the cold figure beside it is the first read`,
        }),
      );

      // A point-in-time read at a random moment of the stream's life.
      const next = random(length);
      const times = Array.from({ length: 32 }, () => EPOCH_MS + Math.floor(next() * length * STEP_MS));
      for (const t of times.slice(0, 4)) {
        const at = await warm.load(siteId, { toTime: new Date(t).toISOString() });
        if (!isDeepStrictEqual(at.state, await peerLoad(peer, ledger, siteId, t))) {
          throw new Error(`${label}: point-in-time folds differ at ${new Date(t).toISOString()}`);
        }
      }
      let turn = 0;
      const pick = () => times[turn++ % times.length]!;
      const pit = { ours: `${label} as of ours`, peer: `${label} as of emmett` };
      const pitTimings = await timeTasks(
        [
          {
            name: pit.ours,
            run: async () => void (await warm.load(siteId, { toTime: new Date(pick()).toISOString() })),
          },
          { name: pit.peer, run: async () => void (await peerLoad(peer, ledger, siteId, pick())) },
        ],
        { iterations: iterations * 2, warmup: 5, rounds: quick ? 1 : 2 },
      );
      const oursPit = timingOf(pitTimings, pit.ours);
      log(
        `${label} as of a random time: ours ${oursPit.medianMs.toFixed(3)} ms (p99 ${oursPit.p99Ms.toFixed(2)}), emmett ${timingOf(pitTimings, pit.peer).medianMs.toFixed(2)} ms`,
      );
      figures.push(
        figure({
          name: `point-in-time read, ${label}, random time, warm: cached fold`,
          value: oursPit.medianMs,
          unit: 'ms',
          baseline: timingOf(pitTimings, pit.peer).medianMs,
          baselineName: `${PEER_LOAD}; folding only the events up to that time`,
          better: 'lower',
          ...(length === 10_000 ? { target: 'under 5 ms (median)', targetCheck: (f: Figure) => f.value < 5 } : {}),
          note: `${spread(oursPit)}, p99 ${oursPit.p99Ms.toFixed(2)} ms (a tail is a GC pause, not the read) over ${times.length} random times; one SiteStreams that folded the stream and these moments before (checkpoints cached); the cold figure is "first read after a start"`,
        }),
      );
      figures.push(...(await coldReads(ledger, snapshots, peer, siteId, label, times, quick)));
    }
  } finally {
    closePeer(peer);
    snapshotFile.close();
    await ledger.close();
    data.dispose();
  }
  return { suite: 'aggregate', figures, omissions: [], facts };
}

/**
 * The first reads after a start: an empty fold cache, so nothing this process
 * folded before helps. With the snapshot file the service keeps (one per
 * instance, open since the start) beside today's cold path without it,
 * interleaved read by read; how many events each read took from the store
 * is counted, not inferred from times.
 */
async function coldReads(
  ledger: LedgerFiles,
  snapshots: SiteSnapshots,
  peer: SQLiteConnection,
  siteId: string,
  label: string,
  times: readonly number[],
  quick: boolean,
): Promise<Figure[]> {
  const started = () => new SiteStreams(ledger.store, ledger.codec, undefined, snapshots);
  await started().load(siteId); // a first fold writes the snapshots, as the service's commands and reads do
  for (const t of times.slice(0, 4)) {
    if (
      !isDeepStrictEqual(
        (await started().load(siteId, { toTime: new Date(t).toISOString() })).state,
        await peerLoad(peer, ledger, siteId, t),
      )
    ) {
      throw new Error(`${label}: a cold point-in-time read from a snapshot and Emmett's fold differ`);
    }
  }
  const read: number[] = [];
  const turns = { with: 0, without: 0 };
  const asOf = (turn: number) => ({ toTime: new Date(times[turn % times.length]!).toISOString() });
  const names = { with: `${label} cold as of, snapshots`, without: `${label} cold as of, no snapshots` };
  const iterations = quick ? 16 : 64;
  const pit = await timeInterleaved(
    [
      {
        name: names.with,
        run: async () => {
          const streams = started();
          await streams.load(siteId, asOf(turns.with++));
          read.push(streams.counts.events);
        },
      },
      {
        name: names.without,
        run: async () => void (await new SiteStreams(ledger.store, ledger.codec).load(siteId, asOf(turns.without++))),
      },
    ],
    { iterations, warmup: 4 },
  );
  const now = { with: `${label} cold now, snapshots`, without: `${label} cold now, full replay` };
  const load = await timeInterleaved(
    [
      { name: now.with, run: async () => void (await started().load(siteId)) },
      { name: now.without, run: async () => void (await new SiteStreams(ledger.store, ledger.codec).load(siteId)) },
    ],
    { iterations: quick ? 8 : 24, warmup: 2 },
  );
  // What the snapshot file costs a warm read (the service runs with both): the lookups that find nothing newer.
  const warmWith = started();
  const warmWithout = new SiteStreams(ledger.store, ledger.codec);
  await warmWith.load(siteId);
  await warmWithout.load(siteId);
  const warm = { with: `${label} warm as of, snapshots`, without: `${label} warm as of, no snapshots` };
  const warmTurns = { with: 0, without: 0 };
  const warmTimings = await timeInterleaved(
    [
      { name: warm.with, run: async () => void (await warmWith.load(siteId, asOf(warmTurns.with++))) },
      { name: warm.without, run: async () => void (await warmWithout.load(siteId, asOf(warmTurns.without++))) },
    ],
    { iterations: quick ? 64 : 256, warmup: 32 },
  );
  const withPit = timingOf(pit, names.with);
  const withoutPit = timingOf(pit, names.without);
  const counted = read.slice(-iterations);
  const meanRead = counted.reduce((sum, n) => sum + n, 0) / counted.length;
  log(
    `${label} as of a random time, first read after a start: with snapshots ${withPit.medianMs.toFixed(2)} ms (p99 ${withPit.p99Ms.toFixed(2)}, at most ${Math.max(...counted)} events read), without ${withoutPit.medianMs.toFixed(2)} ms`,
  );
  return [
    figure({
      name: `point-in-time read, ${label}, random time, cold: first read after a start (snapshots)`,
      value: withPit.medianMs,
      unit: 'ms',
      baseline: withoutPit.medianMs,
      baselineName: 'the same first read without snapshots (replays the stream up to the time), interleaved',
      better: 'lower',
      ...(label.startsWith('10,000') ? { target: 'under 5 ms (median)', targetCheck: (f: Figure) => f.value < 5 } : {}),
      note:
        `${spread(withPit)}, p99 ${withPit.p99Ms.toFixed(2)} ms; without: ${spread(withoutPit)}, p99 ${withoutPit.p99Ms.toFixed(2)} ms; ` +
        `events read from the store per read: at most ${Math.max(...counted)}, mean ${meanRead.toFixed(0)}; ` +
        `${times.length} random times, a new SiteStreams (empty fold cache) per read, the snapshot file open since the start`,
    }),
    figure({
      name: `point-in-time read, ${label}, random time, warm: cached fold with the snapshot file (as the service runs)`,
      value: timingOf(warmTimings, warm.with).medianMs,
      unit: 'ms',
      baseline: timingOf(warmTimings, warm.without).medianMs,
      baselineName: 'the same cached read without a snapshot file, interleaved',
      better: 'lower',
      note: `${spread(timingOf(warmTimings, warm.with))}; without: ${spread(timingOf(warmTimings, warm.without))}; the lookups that find no snapshot newer than the cache`,
    }),
    figure({
      name: `aggregate load, ${label}, cold: first read after a start (snapshots)`,
      value: timingOf(load, now.with).medianMs,
      unit: 'ms',
      baseline: timingOf(load, now.without).medianMs,
      baselineName: 'the same first read without snapshots (full replay), interleaved',
      better: 'lower',
      note: `${spread(timingOf(load, now.with))}; without: ${spread(timingOf(load, now.without))}`,
    }),
  ];
}
