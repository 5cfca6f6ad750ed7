import fc from 'fast-check';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../common/json.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { toRecorded } from '../ledger/recorded-event.js';
import { openReadModelDatabase } from '../read-models/read-model.database.js';
import { foldSite } from '../sites/domain/site.decider.js';
import type { SiteEvent } from '../sites/domain/site.events.js';
import { StoredEventFactory } from '../testing/stored-events.js';
import { FleetProjection, type StatusCounts } from './fleet.projection.js';

/*
 * Fleet counts as of any moment, from the timeline, against the two
 * definitions they must equal over random histories of a few sites:
 *
 * - the count the projection answered before the timeline: the intervals
 *   that hold the moment, counted in fleet_intervals (which lists still
 *   read), for any history the store accepts, a stream whose time goes
 *   backwards included;
 * - for histories as the service writes them (time never goes backwards
 *   within a stream, but freely across streams), each site's events up to
 *   the moment folded with the sites' own evolveSite.
 *
 * Histories are applied in random batches (flush), with restarts (a new
 * projection on the same file, its cache empty) between some of them.
 */

const T0 = Date.UTC(2026, 0, 1);

const KINDS = [
  'register',
  'suspend',
  'reactivate',
  'soft-delete',
  'restore-active',
  'restore-suspended',
  'purge',
  'product',
  'protect',
] as const;
type Kind = (typeof KINDS)[number];

interface Step {
  site: number;
  kind: Kind;
  /** ms after T0: a few values, so that many events share an instant. */
  offset: number;
  flushAfter: boolean;
  restartAfter: boolean;
}

const step = fc.record({
  site: fc.integer({ min: 0, max: 4 }),
  // Registrations weigh more, so that most histories have sites to change.
  kind: fc.oneof(
    { arbitrary: fc.constant<Kind>('register'), weight: 2 },
    { arbitrary: fc.constantFrom(...KINDS), weight: 8 },
  ),
  offset: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(1000, 86_400_000, -5)),
  flushAfter: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  restartAfter: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});

function siteEvent(events: StoredEventFactory, site: number, kind: Kind, occurredAt: string): StoredEvent {
  const siteId = `s${site}`;
  if (kind === 'register') return events.registered(siteId, occurredAt, { customerId: `c${site % 2}` });
  const [type, data]: [string, JsonObject] = (() => {
    switch (kind) {
      case 'suspend':
        return ['SiteSuspended', { siteId }];
      case 'reactivate':
        return ['SiteReactivated', { siteId }];
      case 'soft-delete':
        return ['SiteSoftDeleted', { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: occurredAt }];
      case 'restore-active':
        return ['SiteRestored', { siteId, compensates: 'e', status: 'active' }];
      case 'restore-suspended':
        return ['SiteRestored', { siteId, compensates: 'e', status: 'suspended' }];
      case 'purge':
        return ['SitePurged', { siteId }];
      case 'product':
        return ['SiteProductAdded', { siteId, installationId: `i-${siteId}`, productKey: 'backup' }];
      case 'protect':
        return ['SiteDeletionProtectionEnabled', { siteId }];
    }
  })();
  return events.event(`site-${siteId}`, type, data, occurredAt);
}

describe('fleet counts as of any moment (properties)', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = openReadModelDatabase(':memory:');
  });
  afterEach(() => db.close());

  /** The former countByStatus(atMs): the intervals that hold the moment, by status. */
  const countedFromIntervals = (atMs: number): StatusCounts => {
    const counts: StatusCounts = { active: 0, suspended: 0, deleted: 0, purged: 0 };
    const rows = db
      .prepare(
        'SELECT status, count(*) AS n FROM fleet_intervals WHERE valid_from <= ? AND valid_to > ? GROUP BY status',
      )
      .all(atMs, atMs) as { status: keyof StatusCounts; n: number }[];
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  };

  /** Each site's events with occurredAt ≤ the moment, folded (a prefix of its stream when time never goes backwards in it). */
  const folded = (applied: readonly StoredEvent[], atMs: number): StatusCounts => {
    const counts: StatusCounts = { active: 0, suspended: 0, deleted: 0, purged: 0 };
    const streams = new Map<string, StoredEvent[]>();
    for (const event of applied.filter((event) => Date.parse(event.metadata.occurredAt) <= atMs))
      streams.set(event.streamId, [...(streams.get(event.streamId) ?? []), event]);
    for (const stream of streams.values()) {
      const state = foldSite(stream.map((event) => toRecorded<SiteEvent>(event)));
      if (state.status !== 'unregistered') counts[state.status] += 1;
    }
    return counts;
  };

  /** Applies the history in its batches; returns the events in global order. */
  const applyHistory = (steps: readonly Step[], serviceTimes: boolean): StoredEvent[] => {
    const events = new StoredEventFactory();
    const lastTime = new Map<number, number>();
    let fleet = new FleetProjection(db);
    let ordinal = 0;
    const applied: StoredEvent[] = [];
    for (const { site, kind, offset, flushAfter, restartAfter } of steps) {
      // The service never writes a stream's event before its last one (nextEventTime).
      const ms = serviceTimes ? Math.max(T0 + offset, lastTime.get(site) ?? -Infinity) : T0 + offset;
      lastTime.set(site, ms);
      const event = siteEvent(events, site, kind, new Date(ms).toISOString());
      fleet.apply(event, ++ordinal);
      applied.push(event);
      if (flushAfter || restartAfter) fleet.flush();
      if (restartAfter) fleet = new FleetProjection(db);
    }
    fleet.flush();
    return applied;
  };

  const moments = (applied: readonly StoredEvent[]): number[] => [
    T0 - 10,
    T0 + 10 ** 10,
    ...applied.flatMap((event) => {
      const ms = Date.parse(event.metadata.occurredAt);
      return [ms - 1, ms, ms + 1];
    }),
  ];

  it('equal the intervals that hold the moment, for any history the store accepts', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        new FleetProjection(db).reset();
        const applied = applyHistory(steps, false);
        const fleet = new FleetProjection(db);
        for (const atMs of moments(applied)) {
          expect(fleet.countByStatus(atMs), `at T0 + ${atMs - T0} ms`).toEqual(countedFromIntervals(atMs));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('equal each site folded up to the moment, for histories as the service writes them', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        new FleetProjection(db).reset();
        const applied = applyHistory(steps, true);
        const fleet = new FleetProjection(db);
        for (const atMs of moments(applied)) {
          const expected = folded(applied, atMs);
          expect(fleet.countByStatus(atMs), `at T0 + ${atMs - T0} ms`).toEqual(expected);
          expect(countedFromIntervals(atMs)).toEqual(expected);
        }
        expect(fleet.countByStatus()).toEqual(folded(applied, Number.MAX_SAFE_INTEGER));
      }),
      { numRuns: 400 },
    );
  });
});
