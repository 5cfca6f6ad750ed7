import type Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoredEventFactory } from '../testing/stored-events.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openReadModelDatabase, READ_MODEL_SCHEMA_VERSION } from '../read-models/read-model.database.js';
import { AuditProjection, type AuditFilter } from './audit.projection.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

/** A small deterministic PRNG, so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('AuditProjection', () => {
  let db: Database.Database;
  let audit: AuditProjection;
  let events: StoredEventFactory;
  let applied: StoredEvent[];

  beforeEach(() => {
    db = openReadModelDatabase(':memory:');
    audit = new AuditProjection(db);
    events = new StoredEventFactory();
    applied = [];
  });

  const apply = (...stored: StoredEvent[]) => {
    for (const event of stored) {
      applied.push(event);
      audit.apply(event, applied.length);
    }
  };
  /** Every match, paging `limit` at a time. */
  const all = (filter: AuditFilter, limit = 7) => {
    const found: StoredEvent[] = [];
    let after = 0;
    for (;;) {
      const page = audit.page({ ...filter, after, limit });
      found.push(...page.map((entry) => entry.event));
      if (page.length < limit) return found;
      after = page.at(-1)!.ordinal;
    }
  };
  const ids = (stored: StoredEvent[]) => stored.map((event) => event.eventId);

  it('keeps each event as stored and filters by site, actor and type', () => {
    apply(
      events.registered('a', iso(T0)),
      events.event('site-b', 'SiteSuspended', { siteId: 'b' }, iso(T0 + 1), { actor: 'kim' }),
      events.event('site-a', 'SiteSuspended', { siteId: 'a' }, iso(T0 + 2), { actor: 'kim' }),
      events.event('policy-purge', 'PurgePaused', {}, iso(T0 + 3), { actor: 'admin' }),
    );
    expect(all({})).toEqual(applied);
    expect(ids(all({ siteId: 'a' }))).toEqual(ids([applied[0]!, applied[2]!]));
    expect(ids(all({ actor: 'kim' }))).toEqual(ids([applied[1]!, applied[2]!]));
    expect(ids(all({ types: ['PurgePaused', 'SiteRegistered'] }))).toEqual(ids([applied[0]!, applied[3]!]));
    expect(ids(all({ types: ['SiteSuspended'], actor: 'kim', siteId: 'b' }))).toEqual(ids([applied[1]!]));
    expect(all({ siteId: 'nobody' })).toEqual([]);
  });

  it("an operation's events: its own stream, the deletions it made, and the restores that undo them", () => {
    const softDelete = events.event(
      'site-a',
      'SiteSoftDeleted',
      { siteId: 'a', operationId: 'op_1', previousStatus: 'active', purgeAfter: iso(T0 + 9) },
      iso(T0 + 2),
      { operationId: 'op_1' },
    );
    apply(
      events.registered('a', iso(T0)),
      events.event('operation-op_1', 'OperationPlanned', { operationId: 'op_1' }, iso(T0 + 1)),
      softDelete,
      events.event('operation-op_2', 'OperationPlanned', { operationId: 'op_2' }, iso(T0 + 3)),
      events.event(
        'site-a',
        'SiteRestored',
        { siteId: 'a', compensates: softDelete.eventId, status: 'active' },
        iso(T0 + 4),
        {
          compensates: softDelete.eventId,
        },
      ),
    );
    expect(all({ operationId: 'op_1' }).map((event) => event.type)).toEqual([
      'OperationPlanned',
      'SiteSoftDeleted',
      'SiteRestored',
    ]);
    expect(all({ operationId: 'op_2' }).map((event) => event.type)).toEqual(['OperationPlanned']);
  });

  it('filters by correlation id and by ticket, exactly, combined with the other filters', () => {
    apply(
      events.event('site-a', 'SiteSuspended', { siteId: 'a' }, iso(T0), { correlationId: 'INC-7', actor: 'kim' }),
      events.event('site-b', 'SiteSuspended', { siteId: 'b' }, iso(T0 + 1), {
        correlationId: 'INC-7',
        ticket: 'OPS-1',
      }),
      events.event('site-b', 'SiteReactivated', { siteId: 'b' }, iso(T0 + 2), { correlationId: 'INC-70' }),
      events.event('operation-op_1', 'OperationPlanned', { operationId: 'op_1' }, iso(T0 + 3), { ticket: 'OPS-1' }),
      events.event('site-c', 'SiteSuspended', { siteId: 'c' }, iso(T0 + 4), { ticket: 'OPS-10' }),
    );
    expect(ids(all({ correlationId: 'INC-7' }))).toEqual(ids([applied[0]!, applied[1]!]));
    expect(ids(all({ ticket: 'OPS-1' }))).toEqual(ids([applied[1]!, applied[3]!]));
    expect(ids(all({ correlationId: 'INC-7', ticket: 'OPS-1' }))).toEqual(ids([applied[1]!]));
    expect(ids(all({ correlationId: 'INC-7', actor: 'kim', types: ['SiteSuspended'] }))).toEqual(ids([applied[0]!]));
    expect(ids(all({ ticket: 'OPS-1', siteId: 'b' }))).toEqual(ids([applied[1]!]));
    expect(all({ correlationId: 'INC' })).toEqual([]);
    expect(all({ ticket: 'OPS-1', operationId: 'op_2' })).toEqual([]);
  });

  it('a read-model file of the layout before the correlation and ticket columns is emptied and rebuilt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-layout-'));
    try {
      const file = join(dir, 'read-model.db');
      // The audit table as layout 4 wrote it: no correlation_id or ticket column.
      const old = new BetterSqlite3(file);
      old.exec(`CREATE TABLE audit_events (
        ordinal INTEGER PRIMARY KEY, type TEXT NOT NULL, actor TEXT NOT NULL, site_id TEXT, operation_id TEXT,
        occurred_at INTEGER NOT NULL, high_water INTEGER NOT NULL, event TEXT NOT NULL) STRICT`);
      old.pragma('user_version = 4');
      old.close();
      expect(READ_MODEL_SCHEMA_VERSION).toBeGreaterThan(4);
      const reopened = openReadModelDatabase(file);
      try {
        const fresh = new AuditProjection(reopened);
        fresh.apply(events.registered('a', iso(T0)), 1);
        expect(fresh.page({ after: 0, limit: 10, correlationId: 'c' })).toHaveLength(1);
      } finally {
        reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('until pins what a long read covers', () => {
    apply(events.registered('a', iso(T0)), events.registered('b', iso(T0 + 1)), events.registered('c', iso(T0 + 2)));
    expect(audit.lastOrdinal()).toBe(3);
    expect(audit.page({ after: 0, until: 2, limit: 10 }).map((entry) => entry.ordinal)).toEqual([1, 2]);
  });

  it('time windows are exact even where occurredAt runs behind the global order', () => {
    // Late committers: stamped up to 5 s before events already stored. Per stream time still only grows.
    const next = random(42);
    const streams = Array.from({ length: 12 }, (_, i) => `site-s${i}`);
    const lastOf = new Map<string, number>();
    let clock = T0;
    for (let i = 0; i < 1500; i += 1) {
      clock += Math.floor(next() * 50);
      const streamId = streams[Math.floor(next() * streams.length)]!;
      const stamped = Math.max(lastOf.get(streamId) ?? 0, clock - Math.floor(next() * next() * 5000));
      lastOf.set(streamId, stamped);
      apply(
        events.event(
          streamId,
          next() < 0.5 ? 'SiteSuspended' : 'SiteReactivated',
          { siteId: streamId.slice(5) },
          iso(stamped),
          {
            actor: next() < 0.3 ? 'kim' : 'sam',
          },
        ),
      );
    }
    const stamp = (event: StoredEvent) => Date.parse(event.metadata.occurredAt);
    for (let query = 0; query < 40; query += 1) {
      const from = T0 + Math.floor(next() * (clock - T0));
      const to = from + Math.floor(next() * 4000);
      const filter: AuditFilter = {
        fromMs: query % 4 === 1 ? undefined : from,
        toMs: query % 4 === 2 ? undefined : to,
        actor: query % 3 === 0 ? 'kim' : undefined,
        types: query % 5 === 0 ? ['SiteSuspended'] : undefined,
      };
      const expected = applied.filter(
        (event) =>
          (filter.fromMs === undefined || stamp(event) >= filter.fromMs) &&
          (filter.toMs === undefined || stamp(event) <= filter.toMs) &&
          (filter.actor === undefined || event.metadata.actor === filter.actor) &&
          (filter.types === undefined || filter.types.includes(event.type)),
      );
      expect(ids(all(filter, 13)), JSON.stringify(filter)).toEqual(ids(expected));
    }
  });

  it('a window before every event, or after every event, is empty', () => {
    apply(events.registered('a', iso(T0 + 1000)));
    expect(all({ toMs: T0 })).toEqual([]);
    expect(all({ fromMs: T0 + 2000 })).toEqual([]);
    expect(all({ fromMs: T0 + 1000, toMs: T0 + 1000 })).toHaveLength(1);
  });

  it('carries on after a restart: the high water and the lag come back from the file', () => {
    apply(events.registered('a', iso(T0 + 10_000)));
    audit = new AuditProjection(db);
    apply(events.registered('b', iso(T0 + 1000))); // 9 s late
    expect(ids(all({ fromMs: T0, toMs: T0 + 2000 }))).toEqual(ids([applied[1]!]));
  });

  it('reset forgets everything', () => {
    apply(events.registered('a', iso(T0)));
    audit.reset();
    expect(all({})).toEqual([]);
    expect(audit.lastOrdinal()).toBe(0);
  });

  describe('answers from indexes', () => {
    const plan = (filter: AuditFilter) => {
      const statement = (audit as unknown as { pageQuery(filter: AuditFilter): Database.Statement }).pageQuery(filter);
      const params = {
        after: 0,
        until: 9,
        limit: 1,
        from: 0,
        to: 1,
        siteId: 's',
        operationId: 'o',
        actor: 'a',
        correlationId: 'c',
        ticket: 'k',
        type0: 't',
        type1: 'u',
      };
      return (db.prepare(`EXPLAIN QUERY PLAN ${statement.source}`).all(params) as { detail: string }[])
        .map((row) => row.detail)
        .join(' | ');
    };

    it.each<[AuditFilter, string]>([
      [{}, 'USING INTEGER PRIMARY KEY'],
      [{ siteId: 's' }, 'USING INDEX audit_by_site'],
      [{ operationId: 'o' }, 'USING INDEX audit_by_operation'],
      [{ actor: 'a' }, 'USING INDEX audit_by_actor'],
      [{ correlationId: 'c' }, 'USING INDEX audit_by_correlation'],
      [{ ticket: 'k' }, 'USING INDEX audit_by_ticket'],
      [{ types: ['t'] }, 'USING INDEX audit_by_type'],
      [{ fromMs: 0, toMs: 1 }, 'USING INTEGER PRIMARY KEY'],
    ])('%j reads %s in global order, without a sort', (filter, access) => {
      const detail = plan(filter);
      expect(detail).toContain(access);
      expect(detail).not.toContain('TEMP B-TREE');
    });

    it('several types merge one ordered index range each (sorting at most a page per type)', () => {
      const detail = plan({ types: ['t', 'u'] });
      expect(detail).toContain('MERGE (UNION ALL)');
      expect(detail.match(/USING INDEX audit_by_type/g)).toHaveLength(2);
    });
  });
});
