import { beforeAll, describe, expect, it } from 'vitest';
import { ProjectionRunner } from '../src/read-models/projection-runner.js';
import type { SiteStatus } from '../src/sites/domain/site.events.js';
import { appendFleetFixture, type FleetFixture, type Phase } from './support/fleet-fixture.js';
import { allPages, useTestApp, type AppUnderTest } from './support/test-app.js';

interface SiteSummaryBody {
  siteId: string;
  status: SiteStatus;
  [field: string]: unknown;
}

/** Every page of GET /v1/sites for `query`, following nextCursor. */
async function listAll(
  t: AppUnderTest,
  query: Record<string, string | number | boolean>,
  between?: () => Promise<void>,
) {
  const { items: sites, pages } = await allPages<SiteSummaryBody>(t, '/v1/sites', 'sites', query, between);
  return { sites, ids: sites.map((site) => site.siteId), pages };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const iso = (ms: number) => new Date(ms).toISOString();

describe('fleet over HTTP, on a ledger of 10,000 sites', () => {
  const t = useTestApp({ per: 'suite' });
  let fx: FleetFixture;
  /** Site ids the model says match, in registration order. */
  const expected = (phase: Phase, keep: (i: number, status: SiteStatus) => boolean) =>
    range(fx.sites)
      .filter((i) => keep(i, fx.statusAfter(i, phase)))
      .map((i) => fx.siteId(i));
  const countsAfter = (phase: Phase) => {
    const byStatus = { active: 0, suspended: 0, deleted: 0, purged: 0 };
    for (const i of range(fx.sites)) byStatus[fx.statusAfter(i, phase)] += 1;
    return byStatus;
  };
  const stats = (asOf?: string) => {
    const request = t.http().get('/v1/stats').set('Authorization', t.auth('viewer'));
    return (asOf === undefined ? request : request.query({ asOf })).expect(200);
  };

  beforeAll(async () => {
    fx = await appendFleetFixture(t.store, { sites: 10_000 });
    expect(await t.app.get(ProjectionRunner).catchUp(30_000)).toBe(true);
  });

  it('counts sites by status now, before anything, midway through registration, and after each phase', async () => {
    expect((await stats()).body).toEqual({ total: 10_000, byStatus: countsAfter('restored') });
    expect(countsAfter('restored')).toEqual({ active: 7500, suspended: 2000, deleted: 250, purged: 250 });

    const before = iso(fx.phases.registered - 1);
    expect((await stats(before)).body).toEqual({
      asOf: before,
      total: 0,
      byStatus: { active: 0, suspended: 0, deleted: 0, purged: 0 },
    });
    // Site i registers at registered + i ms, so 5,000 sites exist at + 4,999 ms.
    const midway = iso(fx.phases.registered + 4999);
    expect((await stats(midway)).body.byStatus).toEqual({ active: 5000, suspended: 0, deleted: 0, purged: 0 });
    for (const phase of ['registered', 'suspended', 'deleted', 'restored'] as const) {
      const asOf = iso(fx.after(phase));
      expect((await stats(asOf)).body, phase).toEqual({ asOf, total: 10_000, byStatus: countsAfter(phase) });
    }
  });

  it('pages through every site exactly once, oldest registration first, without contacts', async () => {
    const { sites, ids, pages } = await listAll(t, { limit: 1000 });
    expect(pages).toBe(10);
    expect(ids).toEqual(range(fx.sites).map((i) => fx.siteId(i)));
    expect(new Set(ids).size).toBe(10_000);
    expect(sites.every((site) => !('contacts' in site))).toBe(true);
    expect(sites[12]).toEqual({
      siteId: fx.siteId(12),
      customerId: fx.customerId(12),
      name: 'Fixture site 12',
      region: 'eu-west',
      internal: false,
      status: 'purged',
      products: [{ installationId: 'inst-fx-12', productKey: 'webshop' }],
      deletionProtection: false,
      legalHold: null,
      retention: 'P30D',
      deletedAt: iso(fx.phases.deleted + 12),
      purgeAfter: iso(fx.phases.deleted + 30 * 86_400_000),
      purgedAt: iso(fx.phases.restored + 12),
      version: 3,
      updatedAt: iso(fx.phases.restored + 12),
    });
  });

  it('filters by status, customer and internal, alone and combined, now and as of each phase', async () => {
    const cases: [Record<string, string | boolean>, Phase, (i: number, status: SiteStatus) => boolean][] = [
      [{ status: 'deleted' }, 'restored', (_, status) => status === 'deleted'],
      [{ status: 'purged' }, 'restored', (_, status) => status === 'purged'],
      [{ status: 'suspended', asOf: iso(fx.after('suspended')) }, 'suspended', (_, status) => status === 'suspended'],
      [{ status: 'deleted', asOf: iso(fx.after('deleted')) }, 'deleted', (_, status) => status === 'deleted'],
      [{ status: 'suspended', asOf: iso(fx.after('registered')) }, 'registered', (_, status) => status === 'suspended'],
      [{ customerId: fx.customerId(7) }, 'restored', (i) => fx.customerId(i) === fx.customerId(7)],
      [{ internal: true }, 'restored', (i) => fx.internal(i)],
      [{ internal: true, status: 'purged' }, 'restored', (i, status) => fx.internal(i) && status === 'purged'],
      [
        { internal: false, status: 'deleted', asOf: iso(fx.after('deleted')) },
        'deleted',
        (i, status) => !fx.internal(i) && status === 'deleted',
      ],
      [
        { customerId: fx.customerId(2), status: 'active' },
        'restored',
        (i, status) => fx.customerId(i) === fx.customerId(2) && status === 'active',
      ],
    ];
    for (const [query, phase, keep] of cases) {
      const want = expected(phase, keep);
      const { ids, sites } = await listAll(t, { ...query, limit: 400 });
      expect(ids, JSON.stringify(query)).toEqual(want);
      if (typeof query['status'] === 'string')
        expect(sites.every((site) => site.status === query['status'])).toBe(true);
    }
    // Sanity: the cases above are not all trivially empty.
    expect(expected('restored', (i, status) => fx.internal(i) && status === 'purged').length).toBeGreaterThan(0);
    expect(expected('registered', (_, status) => status === 'suspended')).toEqual([]);
  });

  it('answers as of a moment with the state GET /v1/sites/:id gives for that moment (minus contacts)', async () => {
    const asOf = iso(fx.phases.deleted + 5000); // midway through the deletions
    const { sites } = await listAll(t, { asOf, customerId: fx.customerId(2), limit: 1000 });
    expect(sites.length).toBe(4);
    for (const site of sites) {
      const single = await t
        .http()
        .get(`/v1/sites/${site.siteId}`)
        .query({ asOf })
        .set('Authorization', t.auth('viewer'))
        .expect(200);
      const { contacts: _contacts, asOf: _asOf, ...summary } = single.body as Record<string, unknown>;
      expect(site).toEqual(summary);
    }
    // Customer 2's sites are 2, 2502, 5002 and 7502: only the first two were deleted by then.
    expect(sites.map((site) => site.status)).toEqual(['deleted', 'deleted', 'active', 'active']);
  });

  it('refuses bad input with 400 naming the field, and anonymous reads with 401', async () => {
    const bad: [Record<string, string>, string][] = [
      [{ status: 'gone' }, 'status'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '1001' }, 'limit'],
      [{ internal: 'yes' }, 'internal'],
      [{ asOf: 'yesterday' }, 'asOf'],
      [{ asOf: '2026-01-01T00:00:00' }, 'asOf'],
      [{ customerId: 'bad id!' }, 'customerId'],
      [{ cursor: 'bm9wZQ' }, 'cursor'],
      [{ cursor: '%%%' }, 'cursor'],
      [{ sort: 'name' }, 'sort'],
    ];
    for (const [query, field] of bad) {
      const response = await t.http().get('/v1/sites').query(query).set('Authorization', t.auth('viewer')).expect(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(
        response.body.errors.map((error: { field: string }) => error.field),
        JSON.stringify(query),
      ).toContain(field);
    }
    const auditCursor = Buffer.from('audit:5').toString('base64url');
    await t.http().get('/v1/sites').query({ cursor: auditCursor }).set('Authorization', t.auth('viewer')).expect(400);
    await t.http().get('/v1/stats').query({ asOf: 'now' }).set('Authorization', t.auth('viewer')).expect(400);
    await t.http().get('/v1/sites').expect(401);
    await t.http().get('/v1/stats').expect(401);
  });

  // Last: it changes the fleet.
  it('a listing in progress keeps its snapshot while sites are registered and changed; the next one shows them', async () => {
    const changed = fx.siteId(9999); // active, and on the last page
    expect(fx.statusAfter(9999, 'restored')).toBe('active');
    const registerAndChange = async () => {
      for (const siteId of ['new-1', 'new-2', 'new-3']) {
        await t
          .http()
          .post('/v1/sites')
          .set('Authorization', t.auth('operator'))
          .send({ siteId, customerId: 'cust-new', name: siteId })
          .expect(201);
      }
      await t
        .http()
        .post(`/v1/sites/${changed}/suspend`)
        .set('Authorization', t.auth('operator'))
        .send({ reason: 'test' })
        .expect(200);
    };
    const during = await listAll(t, { status: 'active', limit: 500 }, registerAndChange);
    expect(during.pages).toBe(15);
    expect(during.ids).toEqual(expected('restored', (_, status) => status === 'active'));

    const after = await listAll(t, { status: 'active', limit: 1000 });
    expect(after.ids).toEqual([...during.ids.filter((id) => id !== changed), 'new-1', 'new-2', 'new-3']);
    expect((await stats()).body.byStatus).toEqual({ active: 7502, suspended: 2001, deleted: 250, purged: 250 });
  });
});

describe('fleet over HTTP: what a client just wrote', () => {
  const t = useTestApp();

  const contact = { name: 'Kim Lee', email: 'kim.lee@example.com', role: 'owner' };

  it('shows a change as soon as the command has answered, and the fleet as it was before it', async () => {
    const viewer = t.auth('viewer');
    const operator = t.auth('operator');
    const beforeAll = t.clock.now().toISOString();
    t.clock.advance(1000);
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', operator)
      .send({ siteId: 'site-1', customerId: 'cust-1', name: 'One', contacts: [contact] })
      .expect(201);
    // No waiting: read-your-writes.
    const listed = await t.http().get('/v1/sites').set('Authorization', viewer).expect(200);
    expect(listed.body).toEqual({
      sites: [expect.objectContaining({ siteId: 'site-1', status: 'active', version: 1 })],
    });
    expect(JSON.stringify(listed.body)).not.toContain('kim.lee');

    t.clock.advance(60_000);
    const between = t.clock.now().toISOString();
    t.clock.advance(60_000);
    await t
      .http()
      .post('/v1/sites/site-1/suspend')
      .set('Authorization', operator)
      .send({ reason: 'unpaid' })
      .expect(200);
    const suspended = await t.http().get('/v1/sites?status=suspended').set('Authorization', viewer).expect(200);
    expect(suspended.body.sites.map((site: SiteSummaryBody) => site.siteId)).toEqual(['site-1']);
    expect((await t.http().get('/v1/stats').set('Authorization', viewer).expect(200)).body.byStatus).toEqual({
      active: 0,
      suspended: 1,
      deleted: 0,
      purged: 0,
    });

    const then = await t
      .http()
      .get('/v1/sites')
      .query({ asOf: between, status: 'active' })
      .set('Authorization', viewer)
      .expect(200);
    expect(then.body).toEqual({
      asOf: between,
      sites: [expect.objectContaining({ siteId: 'site-1', status: 'active', version: 1 })],
    });
    const empty = await t.http().get('/v1/sites').query({ asOf: beforeAll }).set('Authorization', viewer).expect(200);
    expect(empty.body).toEqual({ asOf: beforeAll, sites: [] });
    const statsThen = await t.http().get('/v1/stats').query({ asOf: between }).set('Authorization', viewer).expect(200);
    expect(statsThen.body).toEqual({
      asOf: between,
      total: 1,
      byStatus: { active: 1, suspended: 0, deleted: 0, purged: 0 },
    });
  });

  it('documents both endpoints in the OpenAPI output', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const list = document.paths['/v1/sites'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(
      ['asOf', 'cursor', 'customerId', 'internal', 'limit', 'status'].sort(),
    );
    expect(list.description).toMatch(/without contacts/);
    expect(document.paths['/v1/stats'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual([
      'asOf',
    ]);
  });
});
