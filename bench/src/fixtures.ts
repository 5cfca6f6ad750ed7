import { join } from 'node:path';
import { SqliteKeyStore } from '../../src/crypto/sqlite-key-store.js';
import type { KeyStore } from '../../src/crypto/key-store.port.js';
import type { NewEvent } from '../../src/event-store/event-envelope.js';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import { PersonalDataCodec } from '../../src/ledger/personal-data.codec.js';
import type { RequestContext } from '../../src/ledger/request-context.js';
import type { Contact, SiteEvent } from '../../src/sites/domain/site.events.js';
import { SiteStreams } from '../../src/sites/site-streams.js';

/** The principal every benchmark event is recorded for. */
export const BENCH_CONTEXT: RequestContext = {
  principal: { id: 'bench', roles: new Set(['operator']) },
  correlationId: 'bench-run',
  causationId: null,
  reason: 'benchmark',
};

/** Where the benchmark timeline starts: a fixed instant, so runs are comparable. */
export const EPOCH_MS = Date.parse('2025-01-01T00:00:00.000Z');

export const benchSiteId = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(6, '0')}`;

export function contactsFor(i: number, revision = 0): Contact[] {
  return [
    { name: `Owner ${i}.${revision}`, email: `owner${i}.${revision}@example.com`, role: 'owner' },
    { name: `Billing ${i}.${revision}`, email: `billing${i}.${revision}@example.com`, role: 'billing' },
  ];
}

export function registration(siteId: string, i: number, options: { internal?: boolean } = {}): SiteEvent {
  return {
    type: 'SiteRegistered',
    data: {
      siteId,
      customerId: `cust-${i % 7750}`,
      name: `Site ${siteId}`,
      region: i % 3 === 0 ? 'eu-west' : 'us-east',
      internal: options.internal ?? false,
      products: [{ installationId: `app-${siteId}`, productKey: 'webshop' }],
      contacts: contactsFor(i),
      deletionProtection: false,
      retention: 'P30D',
    },
  };
}

/**
 * A long site history: registration, then a repeating mix of the events a
 * real site sees (suspensions, product changes, contact changes every tenth
 * event, protection toggles). Every event is one the decider would allow.
 */
export function siteHistory(siteId: string, length: number): SiteEvent[] {
  const events: SiteEvent[] = [registration(siteId, 0)];
  let suspended = false;
  let extraProduct = false;
  let protectedSite = false;
  for (let n = 1; events.length < length; n += 1) {
    if (n % 10 === 0) {
      events.push({ type: 'SiteContactsUpdated', data: { siteId, contacts: contactsFor(0, n) } });
    } else if (n % 3 === 0) {
      events.push(
        extraProduct
          ? { type: 'SiteProductRemoved', data: { siteId, installationId: `extra-${siteId}`, productKey: 'backup' } }
          : { type: 'SiteProductAdded', data: { siteId, installationId: `extra-${siteId}`, productKey: 'backup' } },
      );
      extraProduct = !extraProduct;
    } else if (n % 7 === 0) {
      events.push({
        type: protectedSite ? 'SiteDeletionProtectionDisabled' : 'SiteDeletionProtectionEnabled',
        data: { siteId },
      });
      protectedSite = !protectedSite;
    } else {
      events.push({ type: suspended ? 'SiteReactivated' : 'SiteSuspended', data: { siteId } });
      suspended = !suspended;
    }
  }
  return events;
}

/** `occurredAt` of the n-th event (0-based) of a timeline with one event every `stepMs`. */
export const timeOf = (n: number, stepMs = 60_000): string => new Date(EPOCH_MS + n * stepMs).toISOString();

/** The product's SQLite event store, key store and site streams on `dir`, as the app wires them. */
export interface LedgerFiles {
  store: SqliteEventStore;
  keys: KeyStore;
  codec: PersonalDataCodec;
  streams: SiteStreams;
  close(): Promise<void>;
}

export function openLedger(dir: string): LedgerFiles {
  const store = new SqliteEventStore(join(dir, 'ledger.db'));
  const keys = new SqliteKeyStore(join(dir, 'keys.db'));
  const codec = new PersonalDataCodec(keys);
  const streams = new SiteStreams(store, codec);
  return {
    store,
    keys,
    codec,
    streams,
    async close() {
      await store.close();
      await keys.close();
    },
  };
}

/** Seals and stamps decided events the way the command path does (SiteStreams.prepare), one call per event. */
export async function prepareTimeline(
  streams: SiteStreams,
  siteId: string,
  events: readonly SiteEvent[],
  firstIndex = 0,
): Promise<NewEvent[]> {
  const prepared: NewEvent[] = [];
  for (const [offset, event] of events.entries()) {
    const [one] = await streams.prepare(siteId, [event], BENCH_CONTEXT, timeOf(firstIndex + offset));
    prepared.push(one!);
  }
  return prepared;
}
