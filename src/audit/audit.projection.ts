import type Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { siteIdOfStream } from '../event-store/ledger-streams.js';
import { operationOf } from '../ledger/operation-link.js';
import type { Projection } from '../read-models/projection.js';

export interface AuditFilter {
  siteId?: string;
  operationId?: string;
  actor?: string;
  /** metadata.correlationId: every event one request or job caused (clients send X-Correlation-Id). */
  correlationId?: string;
  /** metadata.ticket. */
  ticket?: string;
  /** Any of these types. */
  types?: readonly string[];
  /** occurredAt at or after this instant (ms since the epoch). */
  fromMs?: number;
  /** occurredAt at or before this instant (ms since the epoch). */
  toMs?: number;
}

export interface AuditPageRequest extends AuditFilter {
  /** Only events after this ordinal (0: from the start). */
  after: number;
  /** Only events up to this ordinal: pins an export to what existed when it began. */
  until?: number;
  limit: number;
}

export interface AuditEntry {
  ordinal: number;
  event: StoredEvent;
}

/**
 * An index over every ledger event: one row per event keyed by its ordinal
 * (global order), with a column and an index for each audit filter, and the
 * event itself as stored (personal data still sealed), so a page of any
 * filter is one indexed query and never a read of the store.
 *
 * Time filters. `occurredAt` follows the global order only roughly: a
 * request that took its time before committing lands after events stamped
 * later. Each row also keeps `high_water`, the latest occurredAt up to and
 * including it, which never decreases along the global order, and the
 * table's `max_lag`, the furthest any event's occurredAt fell behind the
 * high water before it. An event stamped in [from, to] then lies in the
 * ordinal range where high_water is in [from, to + max_lag] (a proof is in
 * `ordinalRange`); within that range rows are checked against occurredAt
 * itself. Exact, and a page costs the rows between its matches, however
 * old the window. Because high_water never decreases along the ordinal,
 * the table is already sorted by it: the range's bounds are two binary
 * searches over the ordinal key (about 40 row lookups), so there is no
 * high-water index to maintain or build.
 */
export class AuditProjection implements Projection {
  readonly name = 'audit';
  readonly queryIndexes = [
    'audit_by_site',
    'audit_by_operation',
    'audit_by_actor',
    'audit_by_type',
    'audit_by_correlation',
    'audit_by_ticket',
  ];
  private readonly insert: Database.Statement;
  private readonly lastRow: Database.Statement<[], { ordinal: number; highWater: number }>;
  private readonly readLag: Database.Statement<[], { value: number }>;
  private readonly saveLag: Database.Statement<[number]>;
  private readonly highWaterAt: Database.Statement<[number], number>;
  private readonly rememberOperation: Database.Statement<[string, string]>;
  private readonly operationOfEvent: Database.Statement<[string], { operationId: string }>;
  private readonly pageQueries = new Map<string, Database.Statement>();
  /** The row before the next one: its high water carries on. */
  private tail: { ordinal: number; highWater: number } | undefined;
  private maxLag: number;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS audit_events (
      ordinal INTEGER PRIMARY KEY,
      type TEXT NOT NULL,
      actor TEXT NOT NULL,
      site_id TEXT,
      operation_id TEXT,
      correlation_id TEXT NOT NULL,
      ticket TEXT,
      occurred_at INTEGER NOT NULL,
      high_water INTEGER NOT NULL,
      event TEXT NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS audit_by_site ON audit_events (site_id, ordinal) WHERE site_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS audit_by_operation ON audit_events (operation_id, ordinal) WHERE operation_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor, ordinal);
    CREATE INDEX IF NOT EXISTS audit_by_type ON audit_events (type, ordinal);
    CREATE INDEX IF NOT EXISTS audit_by_correlation ON audit_events (correlation_id, ordinal);
    CREATE INDEX IF NOT EXISTS audit_by_ticket ON audit_events (ticket, ordinal) WHERE ticket IS NOT NULL;
    CREATE TABLE IF NOT EXISTS audit_operation_events (
      event_id TEXT PRIMARY KEY,
      operation_id TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS audit_meta (
      name TEXT PRIMARY KEY,
      value INTEGER NOT NULL
    ) STRICT`);
    this.insert = db.prepare(
      `INSERT INTO audit_events
         (ordinal, type, actor, site_id, operation_id, correlation_id, ticket, occurred_at, high_water, event)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.lastRow = db.prepare(
      'SELECT ordinal, high_water AS highWater FROM audit_events ORDER BY ordinal DESC LIMIT 1',
    );
    this.readLag = db.prepare("SELECT value FROM audit_meta WHERE name = 'max_lag'");
    this.saveLag = db.prepare(
      `INSERT INTO audit_meta (name, value) VALUES ('max_lag', ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    );
    this.highWaterAt = db.prepare<[number], number>('SELECT high_water FROM audit_events WHERE ordinal = ?').pluck();
    this.rememberOperation = db.prepare(
      'INSERT OR IGNORE INTO audit_operation_events (event_id, operation_id) VALUES (?, ?)',
    );
    this.operationOfEvent = db.prepare(
      'SELECT operation_id AS operationId FROM audit_operation_events WHERE event_id = ?',
    );
    this.tail = this.lastRow.get();
    this.maxLag = this.readLag.get()?.value ?? 0;
  }

  apply(event: StoredEvent, ordinal: number): void {
    const occurredAt = Date.parse(event.metadata.occurredAt);
    // The cached tail is only trusted for the very next ordinal (a failed
    // batch leaves it ahead of what was committed).
    const previous = this.tail?.ordinal === ordinal - 1 ? this.tail : this.lastRow.get();
    const before = previous?.highWater ?? occurredAt;
    const highWater = Math.max(before, occurredAt);
    if (before - occurredAt > this.maxLag) {
      this.maxLag = before - occurredAt;
      this.saveLag.run(this.maxLag);
    }
    const siteId = siteIdOfStream(event.streamId);
    // A restore belongs to the operation whose deletion it compensates, remembered below when it was indexed.
    const operationId = operationOf(event, (earlier) => this.operationOfEvent.get(earlier)?.operationId);
    // What an operation did to a site, so a later restore of it can be traced back to the operation.
    if (operationId !== undefined && siteId !== undefined) this.rememberOperation.run(event.eventId, operationId);
    this.insert.run(
      ordinal,
      event.type,
      event.metadata.actor,
      siteId ?? null,
      operationId ?? null,
      event.metadata.correlationId,
      event.metadata.ticket ?? null,
      occurredAt,
      highWater,
      JSON.stringify(event),
    );
    this.tail = { ordinal, highWater };
  }

  reset(): void {
    this.db.exec('DELETE FROM audit_events; DELETE FROM audit_operation_events; DELETE FROM audit_meta');
    this.tail = undefined;
    this.maxLag = 0;
  }

  /** Up to `limit` matching events in global order. */
  page(request: AuditPageRequest): AuditEntry[] {
    const range = this.ordinalRange(request.fromMs, request.toMs);
    if (range === undefined) return [];
    const lowest = Math.max(request.after, range.after);
    const highest = Math.min(request.until ?? Number.MAX_SAFE_INTEGER, range.until);
    if (lowest >= highest) return [];
    const params: Record<string, string | number> = {
      after: lowest,
      until: highest,
      limit: request.limit,
      from: request.fromMs ?? Number.MIN_SAFE_INTEGER,
      to: request.toMs ?? Number.MAX_SAFE_INTEGER,
    };
    if (request.siteId !== undefined) params['siteId'] = request.siteId;
    if (request.operationId !== undefined) params['operationId'] = request.operationId;
    if (request.actor !== undefined) params['actor'] = request.actor;
    if (request.correlationId !== undefined) params['correlationId'] = request.correlationId;
    if (request.ticket !== undefined) params['ticket'] = request.ticket;
    request.types?.forEach((type, i) => (params[`type${i}`] = type));
    const rows = this.pageQuery(request).all(params) as { ordinal: number; event: string }[];
    return rows.map((row) => ({ ordinal: row.ordinal, event: JSON.parse(row.event) as StoredEvent }));
  }

  /** The ordinal of the last event indexed; 0 before the first. */
  lastOrdinal(): number {
    return this.lastRow.get()?.ordinal ?? 0;
  }

  /**
   * The ordinals (after, until] that can hold events stamped in [from, to];
   * undefined when none can.
   *
   * Why it is exact: hw(e) = max(hw(prev), occ(e)) ≥ occ(e), so occ(e) ≥ from
   * implies hw(e) ≥ from, and hw only grows: every match is at or after the
   * first row with hw ≥ from. And hw(prev) − occ(e) ≤ max_lag, so
   * occ(e) ≤ to implies hw(e) ≤ to + max_lag: every match is at or before
   * the last row with hw ≤ to + max_lag.
   */
  private ordinalRange(fromMs?: number, toMs?: number): { after: number; until: number } | undefined {
    if (fromMs === undefined && toMs === undefined) return { after: 0, until: Number.MAX_SAFE_INTEGER };
    const last = this.lastOrdinal();
    // The first ordinal whose high water is at least `from`, and the first past `to + max_lag`.
    const after = fromMs === undefined ? 0 : this.firstOrdinalWhere((hw) => hw >= fromMs, last) - 1;
    const until = toMs === undefined ? last : this.firstOrdinalWhere((hw) => hw > toMs + this.maxLag, last) - 1;
    return after < until ? { after, until } : undefined;
  }

  /**
   * The lowest ordinal in 1..last whose high water passes `test`, or
   * last + 1 if none does. Rows hold every ordinal from 1 (each event is
   * one row) and high water never decreases, so once a row passes, every
   * later row does.
   */
  private firstOrdinalWhere(test: (highWater: number) => boolean, last: number): number {
    let low = 1;
    let high = last + 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (test(this.highWaterAt.get(middle)!)) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  private pageQuery(filter: AuditFilter): Database.Statement {
    const conditions = [
      filter.siteId === undefined ? '' : 'AND site_id = @siteId',
      filter.operationId === undefined ? '' : 'AND operation_id = @operationId',
      filter.actor === undefined ? '' : 'AND actor = @actor',
      filter.correlationId === undefined ? '' : 'AND correlation_id = @correlationId',
      filter.ticket === undefined ? '' : 'AND ticket = @ticket',
      filter.fromMs === undefined ? '' : 'AND occurred_at >= @from',
      filter.toMs === undefined ? '' : 'AND occurred_at <= @to',
    ].join(' ');
    const types = filter.types?.length ?? 0;
    const key = `${conditions}|${types}`;
    let query = this.pageQueries.get(key);
    if (query === undefined) {
      const select = (typeCondition: string) =>
        `SELECT ordinal, event FROM audit_events
         WHERE ordinal > @after AND ordinal <= @until ${conditions} ${typeCondition}
         ORDER BY ordinal LIMIT @limit`;
      // One ordered index range per type, merged: `type IN (…)` would make
      // SQLite collect and sort every match to answer one page.
      query = this.db.prepare(
        types <= 1
          ? select(types === 1 ? 'AND type = @type0' : '')
          : `SELECT ordinal, event FROM (${Array.from(
              { length: types },
              (_, i) => `SELECT * FROM (${select(`AND type = @type${i}`)})`,
            ).join(' UNION ALL ')}) ORDER BY ordinal LIMIT @limit`,
      );
      this.pageQueries.set(key, query);
    }
    return query;
  }
}
