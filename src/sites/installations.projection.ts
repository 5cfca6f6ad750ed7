import type Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-envelope.js';
import type { Projection } from '../read-models/projection.js';

/**
 * Which site each product installation belongs to. Deletion plans use it to
 * recognise an installation ID given where a site ID belongs — the mistake
 * behind the outage of SPEC §1 — and name the site instead. It is local to
 * each instance, so it decides no claim: IdNamespaces asks it only about
 * installations recorded before claim streams existed.
 */
export class InstallationsProjection implements Projection {
  readonly name = 'installations';
  private readonly upsert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly find: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS installations (
      installation_id TEXT PRIMARY KEY,
      site_id TEXT NOT NULL,
      product_key TEXT NOT NULL
    ) STRICT`);
    this.upsert = db.prepare(
      `INSERT INTO installations (installation_id, site_id, product_key) VALUES (?, ?, ?)
       ON CONFLICT (installation_id) DO UPDATE SET site_id = excluded.site_id, product_key = excluded.product_key`,
    );
    this.remove = db.prepare('DELETE FROM installations WHERE installation_id = ? AND site_id = ?');
    this.find = db.prepare('SELECT site_id AS siteId FROM installations WHERE installation_id = ?');
  }

  apply(event: StoredEvent): void {
    const data = event.data as {
      siteId?: string;
      installationId?: string;
      productKey?: string;
      products?: { installationId: string; productKey: string }[];
    };
    switch (event.type) {
      case 'SiteRegistered':
        for (const product of data.products ?? [])
          this.upsert.run(product.installationId, data.siteId, product.productKey);
        break;
      case 'SiteProductAdded':
        this.upsert.run(data.installationId, data.siteId, data.productKey);
        break;
      case 'SiteProductRemoved':
        this.remove.run(data.installationId, data.siteId);
        break;
    }
  }

  reset(): void {
    this.db.exec('DELETE FROM installations');
  }

  /** The site an installation belongs to, if any. */
  siteOf(installationId: string): string | undefined {
    return (this.find.get(installationId) as { siteId: string } | undefined)?.siteId;
  }
}
