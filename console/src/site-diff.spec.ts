import { describe, expect, it } from 'vitest';
import type { Site } from './api.types';
import { diffSites } from './site-diff';

const site: Site = {
  siteId: 'site-1001',
  customerId: 'cust-77',
  name: 'Acme web shop',
  region: 'eu-west',
  internal: false,
  status: 'active',
  products: [{ installationId: 'inst-42', productKey: 'webshop' }],
  contacts: [{ name: 'Kim Lee', email: 'kim@example.com', role: 'owner' }],
  deletionProtection: false,
  legalHold: null,
  retention: 'P30D',
  deletedAt: null,
  purgeAfter: null,
  purgedAt: null,
  version: 1,
  updatedAt: '2026-11-30T15:10:35.493Z',
};

describe('diffSites', () => {
  it('marks exactly the fields that differ, values as text', () => {
    const later: Site = {
      ...site,
      status: 'deleted',
      deletedAt: '2026-11-30T16:00:00.000Z',
      products: [],
      version: 3,
      updatedAt: '2026-11-30T16:00:00.000Z',
    };
    const changed = diffSites(site, later).filter((row) => row.changed);
    expect(changed.map((row) => row.field)).toEqual(['status', 'products', 'deletedAt', 'version', 'updatedAt']);
    expect(changed[0]).toEqual({ field: 'status', before: 'active', after: 'deleted', changed: true });
    expect(changed[1]).toMatchObject({ before: '[{"installationId":"inst-42","productKey":"webshop"}]', after: '[]' });
    expect(changed[2]).toMatchObject({ before: '—', after: '2026-11-30T16:00:00.000Z' });
  });

  it('compares nothing as changed when both moments show the same state', () => {
    expect(diffSites(site, { ...site }).some((row) => row.changed)).toBe(false);
  });

  it('shows a side where the site did not exist yet, every field changed', () => {
    const rows = diffSites(undefined, site);
    expect(rows.every((row) => row.changed && row.before === '(did not exist)')).toBe(true);
  });
});
