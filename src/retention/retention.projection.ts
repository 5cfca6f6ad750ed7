import type Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-envelope.js';
import type { Projection } from '../read-models/projection.js';

/**
 * Deleted sites waiting for their retention to expire, and purged sites
 * whose data key may still need destroying. The retention sweeper reads it;
 * every purge is still re-checked against the site's own stream.
 */
export class RetentionProjection implements Projection {
  readonly name = 'retention';
  private readonly deleted: Database.Statement;
  private readonly restored: Database.Statement;
  private readonly purged: Database.Statement;
  private readonly hold: Database.Statement;
  private readonly dueQuery: Database.Statement;
  private readonly unshreddedQuery: Database.Statement;
  private readonly shredded: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS retention (
      site_id TEXT PRIMARY KEY,
      state TEXT NOT NULL CHECK (state IN ('deleted', 'purged')),
      purge_after TEXT NOT NULL,
      held INTEGER NOT NULL DEFAULT 0,
      shredded INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX IF NOT EXISTS retention_due ON retention (state, held, purge_after)`);
    this.deleted = db.prepare(
      `INSERT INTO retention (site_id, state, purge_after) VALUES (?, 'deleted', ?)
       ON CONFLICT (site_id) DO UPDATE SET state = 'deleted', purge_after = excluded.purge_after, held = 0, shredded = 0`,
    );
    this.restored = db.prepare('DELETE FROM retention WHERE site_id = ?');
    this.purged = db.prepare("UPDATE retention SET state = 'purged' WHERE site_id = ?");
    this.hold = db.prepare('UPDATE retention SET held = ? WHERE site_id = ?');
    this.dueQuery = db.prepare(
      "SELECT site_id AS siteId FROM retention WHERE state = 'deleted' AND held = 0 AND purge_after <= ? ORDER BY purge_after LIMIT ?",
    );
    this.unshreddedQuery = db.prepare(
      "SELECT site_id AS siteId FROM retention WHERE state = 'purged' AND shredded = 0 LIMIT ?",
    );
    this.shredded = db.prepare('UPDATE retention SET shredded = 1 WHERE site_id = ?');
  }

  apply(event: StoredEvent): void {
    const data = event.data as { siteId: string; purgeAfter?: string };
    switch (event.type) {
      case 'SiteSoftDeleted':
        this.deleted.run(data.siteId, data.purgeAfter);
        break;
      case 'SiteRestored':
        this.restored.run(data.siteId);
        break;
      case 'SitePurged':
        this.purged.run(data.siteId);
        break;
      case 'SiteLegalHoldPlaced':
        this.hold.run(1, data.siteId);
        break;
      case 'SiteLegalHoldReleased':
        this.hold.run(0, data.siteId);
        break;
    }
  }

  reset(): void {
    this.db.exec('DELETE FROM retention');
  }

  /** Deleted, unheld sites whose purgeAfter is at or before `now`, oldest first. */
  due(now: string, limit: number): string[] {
    return (this.dueQuery.all(now, limit) as { siteId: string }[]).map((row) => row.siteId);
  }

  /** Purged sites whose key destruction has not been confirmed (a crash between purge and shred). */
  unshredded(limit: number): string[] {
    return (this.unshreddedQuery.all(limit) as { siteId: string }[]).map((row) => row.siteId);
  }

  /**
   * Notes that a purged site's key is destroyed. Written outside the
   * projection transaction on purpose: after a rebuild the note is gone and
   * the (idempotent) destruction simply runs once more.
   */
  markShredded(siteId: string): void {
    this.shredded.run(siteId);
  }
}
