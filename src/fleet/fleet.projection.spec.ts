import type Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoredEventFactory } from '../testing/stored-events.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { openReadModelDatabase } from '../read-models/read-model.database.js';
import { FleetProjection, type FleetFilter } from './fleet.projection.js';
import { prefixRanges, TOP } from './fleet.timeline.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
const ms = (seconds: number) => Date.parse(at(seconds));

describe('FleetProjection', () => {
  let db: Database.Database;
  let fleet: FleetProjection;
  let events: StoredEventFactory;
  let ordinal: number;

  beforeEach(() => {
    db = openReadModelDatabase(':memory:');
    fleet = new FleetProjection(db);
    events = new StoredEventFactory();
    ordinal = 0;
  });

  /** One batch, as the runner applies it. */
  const apply = (...stored: StoredEvent[]) => {
    for (const event of stored) fleet.apply(event, ++ordinal);
    fleet.flush();
  };
  /** Site ids and statuses in list order, at a moment (seconds) and snapshot. */
  const list = (options: FleetFilter & { atSeconds?: number; snapshot?: number } = {}) =>
    fleet
      .page({
        ...options,
        snapshot: options.snapshot ?? ordinal,
        atMs: options.atSeconds === undefined ? undefined : ms(options.atSeconds),
        afterSite: 0,
        limit: 100,
      })
      .map(({ site }) => `${site.siteId}:${site.status}`);

  it('lists sites in registration order with their summary, never their contacts', () => {
    apply(events.registered('b', at(1), { customerId: 'cust-9' }), events.registered('a', at(2)));
    const [first] = fleet.page({ snapshot: ordinal, afterSite: 0, limit: 10 });
    expect(first?.site).toMatchObject({
      siteId: 'b',
      customerId: 'cust-9',
      status: 'active',
      version: 1,
      updatedAt: at(1),
    });
    expect(first?.site).not.toHaveProperty('contacts');
    expect(JSON.stringify(db.prepare('SELECT state FROM fleet_intervals').all())).not.toContain('sealed');
    expect(list()).toEqual(['b:active', 'a:active']);
  });

  it('answers as of any moment: before registration, between changes, after the last', () => {
    apply(
      events.registered('a', at(10)),
      events.event('site-a', 'SiteSuspended', { siteId: 'a' }, at(20)),
      events.event('site-a', 'SiteReactivated', { siteId: 'a' }, at(30)),
    );
    expect(list({ atSeconds: 5 })).toEqual([]);
    expect(list({ atSeconds: 10 })).toEqual(['a:active']);
    expect(list({ atSeconds: 19 })).toEqual(['a:active']);
    expect(list({ atSeconds: 20 })).toEqual(['a:suspended']);
    expect(list({ atSeconds: 29 })).toEqual(['a:suspended']);
    expect(list({ atSeconds: 40 })).toEqual(['a:active']);
    expect(list({ atSeconds: 25, status: 'suspended' })).toEqual(['a:suspended']);
    expect(list({ atSeconds: 25, status: 'active' })).toEqual([]);
  });

  it('two events in the same millisecond: the later one is the state at that moment', () => {
    apply(events.registered('a', at(10)), events.event('site-a', 'SiteSuspended', { siteId: 'a' }, at(10)));
    expect(list({ atSeconds: 10 })).toEqual(['a:suspended']);
  });

  it('pins a snapshot: later events and later sites do not show', () => {
    apply(events.registered('a', at(1)), events.registered('b', at(2)));
    const snapshot = ordinal;
    apply(events.event('site-a', 'SiteSuspended', { siteId: 'a' }, at(3)), events.registered('c', at(4)));
    expect(list({ snapshot })).toEqual(['a:active', 'b:active']);
    expect(list()).toEqual(['a:suspended', 'b:active', 'c:active']);
    // A time and a snapshot together: only events visible by both count.
    expect(list({ snapshot, atSeconds: 100 })).toEqual(['a:active', 'b:active']);
    expect(list({ atSeconds: 3 })).toEqual(['a:suspended', 'b:active']);
  });

  it('is exact when the global order and occurredAt disagree across streams', () => {
    // b's suspension was stamped before a's but committed after it.
    apply(events.registered('a', at(1)), events.registered('b', at(1)));
    apply(events.event('site-a', 'SiteSuspended', { siteId: 'a' }, at(20)));
    apply(events.event('site-b', 'SiteSuspended', { siteId: 'b' }, at(10)));
    expect(list({ atSeconds: 15 })).toEqual(['a:active', 'b:suspended']);
    expect(fleet.countByStatus(ms(15))).toEqual({ active: 1, suspended: 1, deleted: 0, purged: 0 });
    expect(list({ atSeconds: 20 })).toEqual(['a:suspended', 'b:suspended']);
  });

  it('filters by customer and internal, alone and together with status', () => {
    apply(
      events.registered('a', at(1), { customerId: 'c1', internal: true }),
      events.registered('b', at(2), { customerId: 'c1' }),
      events.registered('c', at(3), { customerId: 'c2', internal: true }),
      events.event('site-c', 'SiteSuspended', { siteId: 'c' }, at(4)),
    );
    expect(list({ customerId: 'c1' })).toEqual(['a:active', 'b:active']);
    expect(list({ internal: true })).toEqual(['a:active', 'c:suspended']);
    expect(list({ internal: false })).toEqual(['b:active']);
    expect(list({ internal: true, status: 'suspended' })).toEqual(['c:suspended']);
    expect(list({ customerId: 'c2', status: 'active' })).toEqual([]);
  });

  it('follows deletion, restore and purge with the decider, and counts statuses now and then', () => {
    const deletedAt = at(20);
    apply(events.registered('a', at(10)), events.registered('b', at(10)));
    const softDelete = events.event(
      'site-a',
      'SiteSoftDeleted',
      { siteId: 'a', operationId: 'op_1', previousStatus: 'active', purgeAfter: at(1000) },
      deletedAt,
    );
    apply(
      softDelete,
      events.event(
        'site-b',
        'SiteSoftDeleted',
        { siteId: 'b', operationId: 'op_1', previousStatus: 'active', purgeAfter: at(40) },
        deletedAt,
      ),
    );
    apply(
      events.event(
        'site-a',
        'SiteRestored',
        { siteId: 'a', compensates: softDelete.eventId, status: 'active' },
        at(30),
      ),
    );
    apply(events.event('site-b', 'SitePurged', { siteId: 'b' }, at(50)));

    const [, b] = fleet.page({ snapshot: ordinal, afterSite: 0, limit: 10 });
    expect(b?.site).toMatchObject({ status: 'purged', deletedAt, purgeAfter: at(40), purgedAt: at(50), version: 3 });
    expect(fleet.countByStatus()).toEqual({ active: 1, suspended: 0, deleted: 0, purged: 1 });
    expect(fleet.countByStatus(ms(25))).toEqual({ active: 0, suspended: 0, deleted: 2, purged: 0 });
    expect(fleet.countByStatus(ms(35))).toEqual({ active: 1, suspended: 0, deleted: 1, purged: 0 });
    expect(fleet.countByStatus(ms(5))).toEqual({ active: 0, suspended: 0, deleted: 0, purged: 0 });
  });

  it('ignores events of other streams and site events before a registration', () => {
    apply(
      events.event('operation-op_1', 'OperationPlanned', { operationId: 'op_1' }, at(1)),
      events.event('site-x', 'SiteSuspended', { siteId: 'x' }, at(2)),
    );
    expect(list()).toEqual([]);
    expect(fleet.countByStatus()).toEqual({ active: 0, suspended: 0, deleted: 0, purged: 0 });
  });

  it('carries on from the file alone: a new instance finds each site where the last one left it', () => {
    apply(events.registered('a', at(1)), events.registered('b', at(2)));
    const restarted = new FleetProjection(db);
    restarted.apply(events.event('site-a', 'SiteSuspended', { siteId: 'a' }, at(3)), ++ordinal);
    restarted.flush();
    expect(
      restarted
        .page({ snapshot: ordinal, afterSite: 0, limit: 10 })
        .map(({ site }) => `${site.siteId}:${site.status}:${site.version}`),
    ).toEqual(['a:suspended:2', 'b:active:1']);
    expect(restarted.countByStatus()).toEqual({ active: 1, suspended: 1, deleted: 0, purged: 0 });
    expect(restarted.countByStatus(ms(2))).toEqual({ active: 2, suspended: 0, deleted: 0, purged: 0 });
    expect(restarted.countByStatus(ms(3))).toEqual({ active: 1, suspended: 1, deleted: 0, purged: 0 });
  });

  it('a batch that failed and is applied again counts its events once', () => {
    apply(events.registered('a', at(1)));
    const batch = [events.event('site-a', 'SiteSuspended', { siteId: 'a' }, at(2)), events.registered('b', at(3))];
    const applyBatch = (fail: boolean) =>
      db.transaction(() => {
        batch.forEach((event, i) => fleet.apply(event, ordinal + 1 + i));
        if (fail) throw new Error('disk full');
        fleet.flush();
      })();
    expect(() => applyBatch(true)).toThrow('disk full');
    applyBatch(false);
    ordinal += batch.length;
    expect(fleet.countByStatus(ms(2))).toEqual({ active: 0, suspended: 1, deleted: 0, purged: 0 });
    expect(fleet.countByStatus(ms(3))).toEqual({ active: 1, suspended: 1, deleted: 0, purged: 0 });
  });

  it('a read-model file of the layout before the count timeline is emptied when opened, and rebuilt', () => {
    // Layout 6 counted intervals at a moment and had no fleet_count_buckets.
    db.exec('DROP TABLE fleet_count_buckets');
    db.pragma('user_version = 6');
    const file = join(mkdtempSync(join(tmpdir(), 'fleet-layout-')), 'read-model.db');
    try {
      db.exec(`VACUUM INTO '${file}'`);
      const reopened = openReadModelDatabase(file);
      try {
        expect(reopened.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'fleet_%'").all()).toEqual([]);
        const rebuilt = new FleetProjection(reopened);
        rebuilt.apply(events.registered('a', at(1)), 1);
        rebuilt.flush();
        expect(rebuilt.countByStatus(ms(1))).toEqual({ active: 1, suspended: 0, deleted: 0, purged: 0 });
      } finally {
        reopened.close();
      }
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });

  it('pages with afterSite without gaps or repeats', () => {
    for (let i = 0; i < 25; i += 1) apply(events.registered(`s${i}`, at(i)));
    const seen: string[] = [];
    let afterSite = 0;
    for (;;) {
      const page = fleet.page({ snapshot: ordinal, afterSite, limit: 7 });
      seen.push(...page.map(({ site }) => site.siteId));
      if (page.length < 7) break;
      afterSite = page.at(-1)!.siteOrdinal;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `s${i}`));
  });

  it('reset forgets everything', () => {
    apply(events.registered('a', at(1)));
    fleet.reset();
    expect(list()).toEqual([]);
    expect(fleet.countByStatus()).toEqual({ active: 0, suspended: 0, deleted: 0, purged: 0 });
  });

  describe('answers from indexes', () => {
    const plan = (sql: string, params: unknown) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[])
        .map((row) => row.detail)
        .join(' | ');
    const pageSql = (filter: FleetFilter) =>
      (fleet as unknown as { pageQuery(filter: FleetFilter): Database.Statement }).pageQuery(filter).source;
    const params = { afterSite: 0, snapshot: 1, at: 1, limit: 1, status: 'active', customerId: 'c', internal: 1 };

    it.each<[FleetFilter, string]>([
      [{}, 'fleet_intervals_by_site'],
      [{ status: 'active' }, 'fleet_intervals_by_status'],
      [{ customerId: 'c' }, 'fleet_intervals_by_customer'],
      [{ internal: true }, 'fleet_intervals_internal'],
      [{ internal: false }, 'fleet_intervals_by_site'],
      [{ status: 'active', customerId: 'c' }, 'fleet_intervals_by_'],
    ])('a page filtered by %j reads %s in list order, without a sort', (filter, index) => {
      const detail = plan(pageSql(filter), params);
      expect(detail).toContain(`USING INDEX ${index}`);
      expect(detail).not.toContain('TEMP B-TREE');
    });

    it('counts at a moment from one primary-key range of the timeline per level, never a scan', () => {
      const timeline = (fleet as unknown as { timeline: { sumPrefix: Database.Statement } }).timeline;
      const details = (
        db
          .prepare(`EXPLAIN QUERY PLAN ${timeline.sumPrefix.source}`)
          .all(prefixRanges(ms(1)).flatMap(({ level, from, to }) => [level, from, to])) as { detail: string }[]
      ).map((row) => row.detail);
      const searches = details.filter((detail) => detail.startsWith('SEARCH'));
      expect(searches).toHaveLength(TOP + 1);
      for (const detail of searches)
        expect(detail).toMatch(/USING PRIMARY KEY \(level=\? AND bucket>\? AND bucket<\?\)/);
      expect(details.join(' | ')).not.toMatch(/SCAN fleet_/);
    });
  });
});
