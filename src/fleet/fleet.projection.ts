import { LRUCache } from 'lru-cache';
import type Database from 'better-sqlite3';
import { heapBytesOfJson, MiB } from '../common/heap-size.js';
import type { Recorded } from '../common/recorded.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { siteIdOfStream } from '../event-store/ledger-streams.js';
import { evolveSite } from '../sites/domain/site.decider.js';
import type { SiteEvent, SiteStatus } from '../sites/domain/site.events.js';
import { initialSiteState, type RegisteredSite, type SiteState } from '../sites/domain/site.state.js';
import { toSiteView, type SiteView } from '../sites/site.view.js';
import { toRecorded } from '../ledger/recorded-event.js';
import type { Projection } from '../read-models/projection.js';
import { FleetCountTimeline, type StatusCounts } from './fleet.timeline.js';

export { SITE_STATUSES, type StatusCounts } from './fleet.timeline.js';

/** A site in a fleet list: its state without contacts, which are personal data. */
export type SiteSummary = Omit<SiteView, 'contacts'>;

/**
 * `to_ordinal` / `valid_to` of an interval that has not ended. A number
 * rather than NULL, so "ended after x" is one comparison an index can serve.
 */
const OPEN = Number.MAX_SAFE_INTEGER;

export interface FleetFilter {
  status?: SiteStatus;
  customerId?: string;
  internal?: boolean;
}

export interface FleetPageRequest extends FleetFilter {
  /** The state known once this many ledger events were applied (see ProjectionRunner.ordinal). */
  snapshot: number;
  /** The state at this instant (ms since the epoch); omitted: the latest. */
  atMs?: number;
  /** Only sites registered after this one (its `siteOrdinal`); 0 from the start. */
  afterSite: number;
  limit: number;
}

export interface FleetEntry {
  /** The ordinal of the site's SiteRegistered event: the list order. */
  siteOrdinal: number;
  site: SiteSummary;
}

/** A site as the next event finds it. */
interface Current {
  siteOrdinal: number;
  /** `from_ordinal` of its open interval. */
  intervalOrdinal: number;
  /** `valid_from` of its open interval. */
  validFrom: number;
  state: SiteState;
}

/**
 * One index per way of listing, led by the filter column and the list
 * order, and carrying every column the "in the snapshot at that moment"
 * test reads (`from_ordinal` is the rowid, which every index entry holds):
 * an interval that does not qualify is passed over inside the index, and
 * only the page's rows are read from the table. Without them a filter that
 * matches nothing at an early moment reads every interval of that status.
 *
 * Internal sites are a few among many, so only they have an index (a
 * partial one, a small fraction of the others to build); a list of
 * customer sites walks the list-order index and skips the internal ones.
 */
const LIVENESS = 'valid_from, to_ordinal, valid_to';
const LISTING_INDEXES = `
    CREATE INDEX IF NOT EXISTS fleet_intervals_by_site ON fleet_intervals (site_ordinal, ${LIVENESS});
    CREATE INDEX IF NOT EXISTS fleet_intervals_by_status ON fleet_intervals (status, site_ordinal, ${LIVENESS});
    CREATE INDEX IF NOT EXISTS fleet_intervals_by_customer ON fleet_intervals (customer_id, site_ordinal, ${LIVENESS});
    CREATE INDEX IF NOT EXISTS fleet_intervals_internal ON fleet_intervals (site_ordinal, ${LIVENESS}) WHERE internal = 1;`;

/**
 * Current states kept in memory between events: folding a site's next event
 * then reads nothing. A miss costs a random read of the interval table (and
 * parsing the state), which dominated rebuilds while this was smaller than
 * the fleet: a ledger replayed in order touches every site once per round
 * of its history, and a least-recently-used cache smaller than the fleet
 * then misses every time. Bounded in bytes (heapBytesOfJson of each state's
 * JSON, which apply writes anyway): about 200,000 typical sites.
 */
const CACHE_BYTES = 192 * MiB;

/**
 * The fleet over time. Four tables:
 *
 * - `fleet_intervals`, a temporal table with one row per site event: the
 *   span during which the state that event produced held, from its event to
 *   the site's next one, both as ordinals (global order) and as
 *   `occurredAt` instants (ms), with the site's list order and its state.
 *   A site's current state is its open interval (`to_ordinal` = OPEN).
 * - `fleet_sites`: each site's registration ordinal (the list order) and
 *   its open interval, where the next event continues from.
 * - `fleet_counts`: how many sites are in each status now.
 * - `fleet_count_buckets`: how many were at any instant (FleetCountTimeline).
 *
 * The state at (time T, known through ordinal S) is, for each site, the
 * interval whose first event is visible and whose ending event is not,
 * where visible means ordinal ≤ S and occurredAt ≤ T. Per stream both only
 * grow, so the visible events are a prefix of each stream and exactly one
 * interval per site matches: the same fold `GET /v1/sites/:id?asOf=T` does.
 * Lists pin S to the first page's, so later pages show the same snapshot.
 * Counts at T take every event applied: per status, the intervals that hold
 * T, summed by the timeline without reading them.
 *
 * States are folded with the sites' own `evolveSite`, with contacts left
 * out: they are personal data and never enter this read model.
 */
export class FleetProjection implements Projection {
  readonly name = 'fleet';
  readonly queryIndexes = [
    'fleet_intervals_by_site',
    'fleet_intervals_by_status',
    'fleet_intervals_by_customer',
    'fleet_intervals_internal',
  ];
  private readonly saveSite: Database.Statement;
  private readonly findCurrent: Database.Statement<
    [string],
    { siteOrdinal: number; intervalOrdinal: number; validFrom: number; state: string }
  >;
  private readonly closeInterval: Database.Statement;
  private readonly openInterval: Database.Statement;
  private readonly count: Database.Statement<[SiteStatus, number]>;
  private readonly countNow: Database.Statement<[], { status: SiteStatus; n: number }>;
  private readonly timeline: FleetCountTimeline;
  /** One prepared page query per combination of filters. */
  private readonly pageQueries = new Map<string, Database.Statement>();
  /** Only valid for the ordinal after `lastOrdinal`. */
  private readonly cache = new LRUCache<string, Current>({ maxSize: CACHE_BYTES });
  /** How each status's count changed in this batch: written by `flush`, once per status. */
  private readonly countDeltas = new Map<SiteStatus, number>();
  private lastOrdinal = 0;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS fleet_sites (
      site_id TEXT PRIMARY KEY,
      site_ordinal INTEGER NOT NULL,
      interval_ordinal INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS fleet_counts (
      status TEXT PRIMARY KEY,
      n INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE IF NOT EXISTS fleet_intervals (
      from_ordinal INTEGER PRIMARY KEY,
      to_ordinal INTEGER NOT NULL,
      valid_from INTEGER NOT NULL,
      valid_to INTEGER NOT NULL,
      site_ordinal INTEGER NOT NULL,
      status TEXT NOT NULL,
      customer_id TEXT NOT NULL,
      internal INTEGER NOT NULL,
      state TEXT NOT NULL
    ) STRICT;
    ${LISTING_INDEXES}`);
    this.timeline = new FleetCountTimeline(db);
    this.saveSite = db.prepare(
      `INSERT INTO fleet_sites (site_id, site_ordinal, interval_ordinal) VALUES (?, ?, ?)
       ON CONFLICT (site_id) DO UPDATE SET interval_ordinal = excluded.interval_ordinal`,
    );
    this.findCurrent = db.prepare(
      `SELECT s.site_ordinal AS siteOrdinal, s.interval_ordinal AS intervalOrdinal, i.valid_from AS validFrom, i.state
       FROM fleet_sites s JOIN fleet_intervals i ON i.from_ordinal = s.interval_ordinal
       WHERE s.site_id = ?`,
    );
    this.closeInterval = db.prepare('UPDATE fleet_intervals SET to_ordinal = ?, valid_to = ? WHERE from_ordinal = ?');
    this.openInterval = db.prepare(
      `INSERT INTO fleet_intervals (from_ordinal, to_ordinal, valid_from, valid_to, site_ordinal, status, customer_id,
         internal, state)
       VALUES (?, ${OPEN}, ?, ${OPEN}, ?, ?, ?, ?, ?)`,
    );
    this.count = db.prepare(
      `INSERT INTO fleet_counts (status, n) VALUES (?, ?)
       ON CONFLICT (status) DO UPDATE SET n = n + excluded.n`,
    );
    this.countNow = db.prepare('SELECT status, n FROM fleet_counts');
  }

  apply(event: StoredEvent, ordinal: number): void {
    // The runner applies every event once, in order; anything else (a batch
    // that failed and is replayed) means the cache may hold uncommitted states,
    // and the timeline unwritten deltas of events that will come again.
    if (ordinal !== this.lastOrdinal + 1) {
      this.cache.clear();
      this.timeline.discard();
      this.countDeltas.clear();
    }
    this.lastOrdinal = ordinal;
    const siteId = siteIdOfStream(event.streamId);
    if (siteId === undefined) return;
    const current = this.current(siteId);
    const before = current?.state ?? initialSiteState;
    const after = evolveSite(before, withoutContacts(event));
    // Events before a SiteRegistered change nothing (as evolveSite says).
    if (after.status === 'unregistered') return;
    const occurredAtMs = Date.parse(event.metadata.occurredAt);
    if (current !== undefined) this.closeInterval.run(ordinal, occurredAtMs, current.intervalOrdinal);
    const siteOrdinal = current?.siteOrdinal ?? ordinal;
    const json = JSON.stringify(after);
    this.openInterval.run(
      ordinal,
      occurredAtMs,
      siteOrdinal,
      after.status,
      after.customerId,
      after.internal ? 1 : 0,
      json,
    );
    this.saveSite.run(siteId, siteOrdinal, ordinal);
    if (before.status !== after.status) {
      if (before.status !== 'unregistered') this.addCount(before.status, -1);
      this.addCount(after.status, 1);
    }
    // The interval this event ends held its status from its start to here
    // (at no instant, if this stream's time went backwards); the new one
    // holds from here on. Both at one instant in one status cancel out.
    const endsMs = current === undefined ? occurredAtMs : Math.max(current.validFrom, occurredAtMs);
    if (before.status !== after.status || endsMs !== occurredAtMs) {
      if (before.status !== 'unregistered') this.timeline.add(endsMs, before.status, -1);
      this.timeline.add(occurredAtMs, after.status, 1);
    }
    this.cache.set(
      siteId,
      { siteOrdinal, intervalOrdinal: ordinal, validFrom: occurredAtMs, state: after },
      { size: heapBytesOfJson(json.length) },
    );
  }

  /** Writes the batch's count changes, one row per status, and the timeline's deltas (see FleetCountTimeline). */
  flush(): void {
    for (const [status, delta] of this.countDeltas) if (delta !== 0) this.count.run(status, delta);
    this.countDeltas.clear();
    this.timeline.flush();
  }

  private addCount(status: SiteStatus, delta: number): void {
    this.countDeltas.set(status, (this.countDeltas.get(status) ?? 0) + delta);
  }

  reset(): void {
    this.db.exec('DELETE FROM fleet_sites; DELETE FROM fleet_counts; DELETE FROM fleet_intervals');
    this.timeline.reset();
    this.countDeltas.clear();
    this.cache.clear();
    this.lastOrdinal = 0;
  }

  /**
   * Up to `limit` sites in registration order after `afterSite`, as they
   * were at the request's moment and snapshot, matching every filter.
   */
  page(request: FleetPageRequest): FleetEntry[] {
    const rows = this.pageQuery(request).all({
      afterSite: request.afterSite,
      snapshot: request.snapshot,
      at: request.atMs ?? OPEN,
      limit: request.limit,
      status: request.status,
      customerId: request.customerId,
    }) as { siteOrdinal: number; state: string }[];
    return rows.map((row) => ({
      siteOrdinal: row.siteOrdinal,
      site: toSummary(JSON.parse(row.state) as RegisteredSite),
    }));
  }

  /**
   * How many sites were in each status at `atMs`, or now: as many as there
   * are intervals that hold the instant, read from the timeline in O(log time).
   */
  countByStatus(atMs?: number): StatusCounts {
    if (atMs !== undefined) return this.timeline.countsAt(atMs);
    const counts: StatusCounts = { active: 0, suspended: 0, deleted: 0, purged: 0 };
    for (const { status, n } of this.countNow.all()) counts[status] = n;
    return counts;
  }

  private current(siteId: string): Current | undefined {
    const cached = this.cache.get(siteId);
    if (cached !== undefined) return cached;
    const row = this.findCurrent.get(siteId);
    if (row === undefined) return undefined;
    return {
      siteOrdinal: row.siteOrdinal,
      intervalOrdinal: row.intervalOrdinal,
      validFrom: row.validFrom,
      state: JSON.parse(row.state) as SiteState,
    };
  }

  private pageQuery(filter: FleetFilter): Database.Statement {
    const conditions = [
      filter.status === undefined ? '' : 'AND status = @status',
      filter.customerId === undefined ? '' : 'AND customer_id = @customerId',
      // A literal, so SQLite may use the partial index of internal sites.
      filter.internal === undefined ? '' : `AND internal = ${filter.internal ? 1 : 0}`,
    ].join(' ');
    let query = this.pageQueries.get(conditions);
    if (query === undefined) {
      // Every filter has an index led by its column and followed by
      // site_ordinal, so a page is read in list order without sorting.
      query = this.db.prepare(
        `SELECT site_ordinal AS siteOrdinal, state FROM fleet_intervals
         WHERE site_ordinal > @afterSite ${conditions}
           AND from_ordinal <= @snapshot AND valid_from <= @at
           AND (to_ordinal > @snapshot OR valid_to > @at)
         ORDER BY site_ordinal LIMIT @limit`,
      );
      this.pageQueries.set(conditions, query);
    }
    return query;
  }
}

/** The event as `evolveSite` folds it, minus contacts: they never enter this read model. */
function withoutContacts(event: StoredEvent): Recorded<SiteEvent> {
  return toRecorded<SiteEvent>(
    event,
    Array.isArray(event.data['contacts']) ? { ...event.data, contacts: [] } : event.data,
  );
}

function toSummary(site: RegisteredSite): SiteSummary {
  const { contacts: _personalData, ...summary } = toSiteView(site);
  return summary;
}
