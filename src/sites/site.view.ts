import type { LegalHold, SiteContact, SiteProduct, SiteStatus } from './domain/site.events.js';
import type { RegisteredSite } from './domain/site.state.js';

/** A site as `GET /v1/sites/:siteId` and every site command answer it (SPEC §5). */
export interface SiteView {
  siteId: string;
  customerId: string;
  name: string;
  region: string | null;
  internal: boolean;
  status: SiteStatus;
  products: SiteProduct[];
  contacts: SiteContact[];
  deletionProtection: boolean;
  legalHold: LegalHold | null;
  retention: string;
  deletedAt: string | null;
  purgeAfter: string | null;
  purgedAt: string | null;
  version: number;
  updatedAt: string;
}

export function toSiteView(site: RegisteredSite): SiteView {
  const deletion = site.status === 'deleted' || site.status === 'purged' ? site.deletion : undefined;
  return {
    siteId: site.siteId,
    customerId: site.customerId,
    name: site.name,
    region: site.region,
    internal: site.internal,
    status: site.status,
    products: site.products,
    contacts: site.contacts,
    deletionProtection: site.deletionProtection,
    legalHold: site.legalHold,
    retention: site.retention,
    deletedAt: deletion?.deletedAt ?? null,
    purgeAfter: deletion?.purgeAfter ?? null,
    purgedAt: site.status === 'purged' ? site.purgedAt : null,
    version: site.version,
    updatedAt: site.updatedAt,
  };
}
