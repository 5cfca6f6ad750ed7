import { isDeepStrictEqual } from 'node:util';
import type { NewEvent } from '../../../src/event-store/event-envelope.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { evolveSite } from '../../../src/sites/domain/site.decider.js';
import { initialSiteState, type SiteState } from '../../../src/sites/domain/site.state.js';
import { SiteStreams } from '../../../src/sites/site-streams.js';
import { openPostgresPeer, type PeerReadEvent, type PostgresPeer } from '../../peers/postgres/emmett-postgres.js';
import { prepareTimeline, siteHistory } from '../fixtures.js';
import { openPeerContacts, recordedOfPeerEvent } from '../peer-events.js';
import { figure, log, spread, timeTasks, timingOf, type Figure } from '../harness.js';
import type { BenchDatabase } from './databases.js';
import { openPostgresLedger, type PostgresLedger } from './ledger.js';

/**
 * Emmett folding the same events into the same state: the same evolve over
 * the events with contacts still sealed, and the result's contacts opened
 * once with the same key (what our load does), as
 * bench/src/suites/aggregate.ts does with the SQLite peer.
 */
async function peerLoad(peer: PostgresPeer, ledger: PostgresLedger, siteId: string): Promise<SiteState> {
  const state = await peer.aggregate(
    siteStreamId(siteId),
    () => initialSiteState,
    (current: SiteState, event: PeerReadEvent) => evolveSite(current, recordedOfPeerEvent(event)),
  );
  return openPeerContacts(ledger.codec, siteId, state);
}

/** A site stream of `length` events in our store and in Emmett's (each on its own database); load times. */
export async function compareAggregates(
  databases: { ours: BenchDatabase; peer: BenchDatabase },
  options: { length: number; iterations: number; rounds: number },
): Promise<Figure[]> {
  const { length } = options;
  const ledger = await openPostgresLedger(databases.ours.url);
  const peer = await openPostgresPeer(databases.peer.url, 10);
  try {
    const siteId = `agg-${length}`;
    const prepared: NewEvent[] = await prepareTimeline(ledger.streams, siteId, siteHistory(siteId, length));
    for (let start = 0; start < prepared.length; start += 1_000) {
      const chunk = prepared.slice(start, start + 1_000);
      await ledger.store.append(siteStreamId(siteId), start, chunk);
      await peer.append(
        siteStreamId(siteId),
        start,
        chunk.map((event) => ({
          type: event.type,
          data: event.data,
          metadata: { ...event.metadata, eventId: event.eventId },
        })),
      );
    }
    const label = `${length.toLocaleString('en-US')}-event stream`;
    // Same answer from both, or the comparison means nothing.
    const ours = await new SiteStreams(ledger.store, ledger.codec).load(siteId);
    if (!isDeepStrictEqual(ours.state, await peerLoad(peer, ledger, siteId))) {
      throw new Error(`${label}: our fold and Emmett's differ`);
    }
    const warm = new SiteStreams(ledger.store, ledger.codec);
    await warm.load(siteId);
    const names = { cold: 'ours cold', warm: 'ours warm', peer: 'emmett' };
    const timings = await timeTasks(
      [
        // A new SiteStreams has an empty fold cache: every event is read and folded.
        { name: names.cold, run: async () => void (await new SiteStreams(ledger.store, ledger.codec).load(siteId)) },
        { name: names.warm, run: async () => void (await warm.load(siteId)) },
        { name: names.peer, run: async () => void (await peerLoad(peer, ledger, siteId)) },
      ],
      { iterations: options.iterations, warmup: 2, rounds: options.rounds },
    );
    const peerMs = timingOf(timings, names.peer).medianMs;
    log(
      `${label}: ours cold ${timingOf(timings, names.cold).medianMs.toFixed(2)} ms, warm ${timingOf(timings, names.warm).medianMs.toFixed(3)} ms, emmett ${peerMs.toFixed(2)} ms`,
    );
    return [
      figure({
        name: `postgres aggregate load, ${label}, cold: first read, full replay`,
        value: timingOf(timings, names.cold).medianMs,
        unit: 'ms',
        baseline: peerMs,
        baselineName:
          "emmett-postgresql aggregateStream (one pool opened once): the same events folded with contacts sealed by the same evolve, the result's contacts opened once with the same key",
        better: 'lower',
        note: `${spread(timingOf(timings, names.cold))}, emmett ${spread(timingOf(timings, names.peer))}`,
      }),
      figure({
        name: `postgres aggregate load, ${label}, warm: cached fold`,
        value: timingOf(timings, names.warm).medianMs,
        unit: 'ms',
        baseline: peerMs,
        baselineName: 'emmett-postgresql aggregateStream (no snapshots)',
        better: 'lower',
        note: `${spread(timingOf(timings, names.warm))}; one query for newer events (none), one key lookup, the contacts opened`,
      }),
    ];
  } finally {
    await peer.close();
    await ledger.close();
  }
}
