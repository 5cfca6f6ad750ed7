import { join } from 'node:path';
import type { StreamAppend } from '../../src/event-store/event-store.port.js';
import { siteStreamId } from '../../src/event-store/ledger-streams.js';
import type { SiteEvent } from '../../src/sites/domain/site.events.js';
import { BENCH_CONTEXT, EPOCH_MS, benchSiteId, contactsFor, openLedger, registration } from './fixtures.js';
import { createKeys } from './keys.js';

/** Time between two rounds of the fleet's history. */
export const ROUND_MS = 36 * 24 * 3_600_000;

export interface FleetLedger {
  sites: number;
  events: number;
  /** The span the history covers: asOf times are drawn from it. */
  fromMs: number;
  toMs: number;
}

/**
 * A fleet with a past: `sites` sites, each with `rounds` events. Round 0
 * registers every site; each later round gives every site one more event,
 * chosen by site and round so that at any moment the fleet holds sites in
 * every status (suspensions, deletions by an operation and restores,
 * product, contact and protection changes). Round r happens around
 * EPOCH + r·36 days, so `rounds` = 10 spans a year. Written through our
 * store, 2,000 streams per commit, round after round: the global order
 * interleaves sites as real traffic does.
 */
export async function writeFleetLedger(dir: string, sites: number, rounds: number): Promise<FleetLedger> {
  const siteIds = Array.from({ length: sites }, (_, i) => benchSiteId('fleet', i));
  createKeys(join(dir, 'keys.db'), siteIds);
  const ledger = openLedger(dir);
  const deleted = new Uint8Array(sites);
  const suspended = new Uint8Array(sites);
  const extraProduct = new Uint8Array(sites);
  const protectedSite = new Uint8Array(sites);
  let events = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (let start = 0; start < sites; start += 2_000) {
        const appends: StreamAppend[] = [];
        for (let i = start; i < Math.min(sites, start + 2_000); i += 1) {
          const siteId = siteIds[i]!;
          const event = round === 0 ? registration(siteId, i, { internal: i % 25 === 2 }) : nextEvent(siteId, i, round);
          const occurredAt = new Date(EPOCH_MS + round * ROUND_MS + i * 10).toISOString();
          const prepared = await ledger.streams.prepare(siteId, [event], BENCH_CONTEXT, occurredAt);
          appends.push({ streamId: siteStreamId(siteId), expectedVersion: round, events: prepared });
        }
        await ledger.store.appendMany(appends);
        events += appends.length;
      }
    }
  } finally {
    await ledger.close();
  }
  return { sites, events, fromMs: EPOCH_MS, toMs: EPOCH_MS + rounds * ROUND_MS };

  function nextEvent(siteId: string, i: number, round: number): SiteEvent {
    if (deleted[i]) {
      deleted[i] = 0;
      return {
        type: 'SiteRestored',
        data: { siteId, compensates: `fleet-deletion-${i}`, status: suspended[i] ? 'suspended' : 'active' },
      };
    }
    switch ((i * 7 + round * 13) % 10) {
      case 0:
      case 1:
      case 2:
        suspended[i] = suspended[i] ? 0 : 1;
        return { type: suspended[i] ? 'SiteSuspended' : 'SiteReactivated', data: { siteId } };
      case 3:
      case 4:
        extraProduct[i] = extraProduct[i] ? 0 : 1;
        return {
          type: extraProduct[i] ? 'SiteProductAdded' : 'SiteProductRemoved',
          data: { siteId, installationId: `backup-${siteId}`, productKey: 'backup' },
        };
      case 5:
        return { type: 'SiteContactsUpdated', data: { siteId, contacts: contactsFor(i, round) } };
      case 6:
        protectedSite[i] = protectedSite[i] ? 0 : 1;
        return {
          type: protectedSite[i] ? 'SiteDeletionProtectionEnabled' : 'SiteDeletionProtectionDisabled',
          data: { siteId },
        };
      default:
        if (protectedSite[i]) {
          protectedSite[i] = 0;
          return { type: 'SiteDeletionProtectionDisabled', data: { siteId } };
        }
        deleted[i] = 1;
        return {
          type: 'SiteSoftDeleted',
          data: {
            siteId,
            operationId: 'op_fleet_bench',
            previousStatus: suspended[i] ? 'suspended' : 'active',
            purgeAfter: new Date(EPOCH_MS + (round + 1) * ROUND_MS).toISOString(),
          },
        };
    }
  }
}
