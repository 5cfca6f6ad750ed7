import { describe, expect, it } from 'vitest';
import { record } from '../../testing/decider-spec.js';
import { foldSite, type SitePolicy } from '../../sites/domain/site.decider.js';
import type { SiteEvent } from '../../sites/domain/site.events.js';
import type { SiteState } from '../../sites/domain/site.state.js';
import { decidePurge, RETENTION_ACTOR } from './purge.js';
import { initialPurgePolicy, type PurgePolicyState } from './purge-policy.js';

const sitePolicy: SitePolicy = { defaultRetention: 'P30D', minRetention: 'P7D' };
const siteId = 'site-1';
const purgeAfter = '2026-02-01T00:00:00.000Z';
const registered: SiteEvent = {
  type: 'SiteRegistered',
  data: {
    siteId,
    customerId: 'cust-1',
    name: 'Shop',
    region: 'eu-west',
    internal: false,
    products: [],
    contacts: [],
    deletionProtection: false,
    retention: 'P30D',
  },
};
const deleted: SiteEvent = {
  type: 'SiteSoftDeleted',
  data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter },
};
const frozen: PurgePolicyState = { ...initialPurgePolicy, paused: true, reason: 'INC-1', changedBy: 'ada', version: 1 };
const site = (...events: SiteEvent[]) => foldSite(record(events));

describe('retention: what a due site gets', () => {
  it('a deleted site whose retention has expired is purged', () => {
    expect(decidePurge(siteId, site(registered, deleted), initialPurgePolicy, purgeAfter, sitePolicy)).toEqual([
      { type: 'SitePurged', data: { siteId } },
    ]);
  });

  it('safety rule: while purging is frozen, nothing is purged, even a site long due', () => {
    expect(decidePurge(siteId, site(registered, deleted), frozen, '2027-01-01T00:00:00.000Z', sitePolicy)).toEqual([]);
  });

  it('safety rule: a site is never purged before its retention expires', () => {
    expect(
      decidePurge(siteId, site(registered, deleted), initialPurgePolicy, '2026-01-31T23:59:59.999Z', sitePolicy),
    ).toEqual([]);
  });

  it('safety rule: a site restored or on legal hold since the index was written is left alone', () => {
    const restored: SiteEvent = {
      type: 'SiteRestored',
      data: { siteId, compensates: 'event-2', status: 'active' },
    };
    const held: SiteEvent = {
      type: 'SiteLegalHoldPlaced',
      data: { siteId, legalHold: { reason: 'litigation', reference: 'LH-1', placedBy: 'ada', placedAt: purgeAfter } },
    };
    const later = '2027-01-01T00:00:00.000Z';
    expect(decidePurge(siteId, site(registered, deleted, restored), initialPurgePolicy, later, sitePolicy)).toEqual([]);
    expect(decidePurge(siteId, site(registered, deleted, held), initialPurgePolicy, later, sitePolicy)).toEqual([]);
    expect(decidePurge(siteId, site(), initialPurgePolicy, later, sitePolicy)).toEqual([]);
  });

  it('a bug is not mistaken for a site that is not due: it is thrown, and the pass stops', () => {
    const broken = { status: 'deleted' } as unknown as SiteState;
    expect(() => decidePurge(siteId, broken, initialPurgePolicy, purgeAfter, sitePolicy)).toThrow(TypeError);
  });

  it("purges are the retention job's, recorded under its system principal (SPEC: system:retention)", () => {
    expect(RETENTION_ACTOR).toBe('system:retention');
  });
});
