import type { NewEvent } from '../../src/event-store/event-envelope.js';
import type { EventStore, StreamAppend } from '../../src/event-store/event-store.port.js';
import { siteStreamId } from '../../src/event-store/ledger-streams.js';
import type { SiteEvent, SiteStatus } from '../../src/sites/domain/site.events.js';
import { toNewEvents } from '../../src/ledger/request-context.js';
import type { JsonObject } from '../../src/common/json.js';

/**
 * A large ledger written straight to the store in a few transactions (no
 * HTTP), with a model of what every site's status is at each phase, so
 * tests can compute the right answer for any filter and moment.
 *
 * Site i (0 ≤ i < sites): `fx-<i>`, customer `cust-<i mod customers>`,
 * internal when i mod 25 = 2. Phases, each at its own time, one ms apart
 * per site:
 *   registered  every site, active
 *   suspended   i mod 5 = 1
 *   deleted     i mod 10 = 2, by operation `op_fixture` (actor system:operations)
 *   restored    i mod 20 = 2 (undoes its deletion); and purged: i mod 40 = 12 (system:retention)
 */
export interface FleetFixture {
  sites: number;
  customers: number;
  operationId: string;
  /** The instant each phase starts; phase events are at start + i ms. */
  phases: { registered: number; suspended: number; deleted: number; restored: number };
  /** When every event of a phase has happened (ms). */
  after(phase: Phase): number;
  /** Site i's id. */
  siteId(i: number): string;
  customerId(i: number): string;
  internal(i: number): boolean;
  /** Site i's status once `phase` is over; undefined if not yet registered. */
  statusAfter(i: number, phase: Phase): SiteStatus;
  /** Events appended, by type. */
  counts: Record<string, number>;
}

export type Phase = 'registered' | 'suspended' | 'deleted' | 'restored';

const PHASES: readonly Phase[] = ['registered', 'suspended', 'deleted', 'restored'];
/** Streams per transaction. */
const BATCH = 2000;

export async function appendFleetFixture(
  store: EventStore,
  options: { sites: number; customers?: number; startMs?: number; prefix?: string } = { sites: 10_000 },
): Promise<FleetFixture> {
  const sites = options.sites;
  const customers = options.customers ?? Math.ceil(sites / 4);
  const prefix = options.prefix ?? 'fx';
  const start = options.startMs ?? Date.parse('2026-01-01T00:00:00.000Z');
  // Phases far enough apart that their events never overlap in time.
  const span = sites + 60_000;
  const phases = {
    registered: start,
    suspended: start + span,
    deleted: start + 2 * span,
    restored: start + 3 * span,
  };
  const operationId = `op_fixture_${prefix}`;
  const pad = String(sites - 1).length;
  const fixture: FleetFixture = {
    sites,
    customers,
    operationId,
    phases,
    after: (phase) => phases[phase] + sites,
    siteId: (i) => `${prefix}-${String(i).padStart(pad, '0')}`,
    customerId: (i) => `cust-${prefix}-${i % customers}`,
    internal: (i) => i % 25 === 2,
    statusAfter: (i, phase) => {
      const reached = (p: Phase) => PHASES.indexOf(phase) >= PHASES.indexOf(p);
      if (i % 40 === 12 && reached('restored')) return 'purged';
      if (i % 20 === 2 && reached('restored')) return 'active';
      if (i % 10 === 2 && reached('deleted')) return 'deleted';
      if (i % 5 === 1 && reached('suspended')) return 'suspended';
      return 'active';
    },
    counts: {},
  };

  const versions = new Map<number, number>();
  const softDeletes = new Map<number, string>();
  const write = async (
    selected: (i: number) => boolean,
    make: (i: number) => { event: SiteEvent; actor: string },
    phase: Phase,
  ) => {
    const appends: { i: number; append: StreamAppend }[] = [];
    for (let i = 0; i < sites; i += 1) {
      if (!selected(i)) continue;
      const { event, actor } = make(i);
      const occurredAt = new Date(phases[phase] + i).toISOString();
      const [newEvent] = toNewEvents(
        [{ type: event.type, data: event.data as unknown as JsonObject }],
        {
          principal: { id: actor, roles: new Set(['operator']) },
          correlationId: `fixture-${phase}`,
          causationId: null,
        },
        occurredAt,
      ) as [NewEvent];
      if (event.type === 'SiteSoftDeleted') softDeletes.set(i, newEvent.eventId);
      fixture.counts[event.type] = (fixture.counts[event.type] ?? 0) + 1;
      appends.push({
        i,
        append: {
          streamId: siteStreamId(fixture.siteId(i)),
          expectedVersion: versions.get(i) ?? 0,
          events: [newEvent],
        },
      });
    }
    for (let from = 0; from < appends.length; from += BATCH) {
      const batch = appends.slice(from, from + BATCH);
      await store.appendMany(batch.map((entry) => entry.append));
      for (const { i } of batch) versions.set(i, (versions.get(i) ?? 0) + 1);
    }
  };

  await write(
    () => true,
    (i) => ({
      actor: 'operator',
      event: {
        type: 'SiteRegistered',
        data: {
          siteId: fixture.siteId(i),
          customerId: fixture.customerId(i),
          name: `Fixture site ${i}`,
          region: i % 2 === 0 ? 'eu-west' : null,
          internal: fixture.internal(i),
          products: [{ installationId: `inst-${prefix}-${i}`, productKey: 'webshop' }],
          contacts: [],
          deletionProtection: false,
          retention: 'P30D',
        },
      },
    }),
    'registered',
  );
  await write(
    (i) => i % 5 === 1,
    (i) => ({ actor: 'operator', event: { type: 'SiteSuspended', data: { siteId: fixture.siteId(i) } } }),
    'suspended',
  );
  await write(
    (i) => i % 10 === 2,
    (i) => ({
      actor: 'system:operations',
      event: {
        type: 'SiteSoftDeleted',
        data: {
          siteId: fixture.siteId(i),
          operationId,
          previousStatus: 'active',
          purgeAfter: new Date(phases.deleted + 30 * 86_400_000).toISOString(),
        },
      },
    }),
    'deleted',
  );
  await write(
    (i) => i % 20 === 2 || i % 40 === 12,
    (i) =>
      i % 20 === 2
        ? {
            actor: 'operator',
            event: {
              type: 'SiteRestored',
              data: { siteId: fixture.siteId(i), compensates: softDeletes.get(i)!, status: 'active' },
            },
          }
        : { actor: 'system:retention', event: { type: 'SitePurged', data: { siteId: fixture.siteId(i) } } },
    'restored',
  );
  return fixture;
}
