import { join } from 'node:path';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import type { StreamAppend } from '../../../src/event-store/event-store.port.js';
import type { SiteEvent } from '../../../src/sites/domain/site.events.js';
import { benchSiteId, contactsFor, EPOCH_MS, openLedger, prepareTimeline, registration } from '../fixtures.js';
import { createKeys } from '../keys.js';

/** One minute: the seeded ledger's events are this far apart, in global order. */
const STEP_MS = 60_000;

/** Site `i` of the soak's ledger. */
export const soakSiteId = (i: number): string => benchSiteId('soak', i);

/** Every fourth seeded site ends suspended; the others active. */
export const seededSuspended = (i: number): boolean => i % 4 === 0;

/**
 * Site `i`'s seeded events occur at minutes 3i, 3i + 1 and 3i + 2 after
 * the epoch (one after another in global order, as the service stamps
 * them): registered, contacts changed, and for every fourth site suspended.
 */
function seededHistory(i: number): SiteEvent[] {
  const siteId = soakSiteId(i);
  const events: SiteEvent[] = [
    registration(siteId, i),
    { type: 'SiteContactsUpdated', data: { siteId, contacts: contactsFor(i, 1) } },
  ];
  if (seededSuspended(i)) events.push({ type: 'SiteSuspended', data: { siteId } });
  return events;
}

/** A moment inside site `i`'s seeded history (half a minute after one of its events), for reads as of a past time. */
export function pastMomentOf(i: number, pick: number): string {
  const events = seededSuspended(i) ? 3 : 2;
  return new Date(EPOCH_MS + (3 * i + (pick % events)) * STEP_MS + STEP_MS / 2).toISOString();
}

/** A moment anywhere in the seeded history of `sites` sites, for fleet lists and stats as of a past time. */
export function pastMoment(sites: number, fraction: number): string {
  return new Date(EPOCH_MS + Math.floor(fraction * 3 * sites) * STEP_MS).toISOString();
}

/** The first moment of the history (audit queries take a window after it). */
export const historyStart = (): number => EPOCH_MS;
export const minutesToMs = (minutes: number): number => minutes * STEP_MS;

/**
 * Writes `sites` sites straight into the data dir (keys in one transaction,
 * events through our store in large appends), the ledger a service finds
 * when it starts on a data folder in use for a while. Its read models are
 * not built: the service builds them as it starts.
 */
export async function seedSoakLedger(dir: string, sites: number): Promise<{ events: number }> {
  createKeys(
    join(dir, 'keys.db'),
    Array.from({ length: sites }, (_, i) => soakSiteId(i)),
  );
  const ledger = openLedger(dir);
  let events = 0;
  try {
    let batch: StreamAppend[] = [];
    for (let i = 0; i < sites; i += 1) {
      const history = seededHistory(i);
      const prepared = await prepareTimeline(ledger.streams, soakSiteId(i), history, 3 * i);
      batch.push({ streamId: siteStreamId(soakSiteId(i)), expectedVersion: 0, events: prepared });
      events += prepared.length;
      if (batch.length >= 2_000) {
        await ledger.store.appendMany(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await ledger.store.appendMany(batch);
  } finally {
    await ledger.close();
  }
  return { events };
}
