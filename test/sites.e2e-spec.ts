import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withRawConnection } from '../src/testing/postgres.js';
import { startTestApp, useTestApp } from './support/test-app.js';

const contact = { name: 'Kim Lee', email: 'kim.lee@example.com', role: 'owner' };
const site = {
  siteId: 'site-1001',
  customerId: 'cust-77',
  name: 'Acme web shop',
  region: 'eu-west',
  products: [{ installationId: 'inst-42', productKey: 'webshop' }],
  contacts: [contact],
};

describe('sites over HTTP', () => {
  const t = useTestApp();

  const register = (body: object = site) =>
    t.http().post('/v1/sites').set('Authorization', t.auth('operator')).send(body);

  it('registers a site: 201, state, ETag, Location, and one chained event by the principal', async () => {
    const response = await register().expect(201);
    expect(response.headers['etag']).toBe('"1"');
    expect(response.headers['location']).toBe('/v1/sites/site-1001');
    expect(response.body).toEqual({
      ...site,
      internal: false,
      status: 'active',
      deletionProtection: false,
      legalHold: null,
      retention: 'P30D',
      deletedAt: null,
      purgeAfter: null,
      purgedAt: null,
      version: 1,
      updatedAt: expect.any(String),
    });

    const events = await t.allEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'SiteRegistered',
      streamId: 'site-site-1001',
      version: 1,
      prevHash: '0'.repeat(64),
      metadata: { actor: 'operator', correlationId: expect.any(String), causationId: null },
    });
    expect(events[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses to register a site twice (409) and records nothing', async () => {
    await register().expect(201);
    const response = await register({ ...site, name: 'Other' }).expect(409);
    expect(response.body).toMatchObject({ status: 409, code: 'site.already-exists' });
    expect(await t.allEvents()).toHaveLength(1);
  });

  it('stores contacts encrypted: the email never reaches the ledger in the clear', async () => {
    await register().expect(201);
    const stored = (await t.allEvents())[0]!;
    expect(JSON.stringify(stored.data)).not.toContain('kim.lee');
    expect(stored.data['contacts']).toEqual([{ sealed: expect.stringMatching(/^v1\./) }]);
    if (t.config.store === 'postgres') {
      const { rows } = await withRawConnection(t.config.postgresUrl, (client) =>
        client.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE data || metadata LIKE '%kim.lee%'`),
      );
      expect(rows[0]?.n).toBe(0);
    } else {
      const ledgerFiles = readdirSync(t.config.dataDir).filter((file) => file.startsWith('ledger.db'));
      expect(ledgerFiles.length).toBeGreaterThan(0);
      for (const file of ledgerFiles) {
        expect(readFileSync(join(t.config.dataDir, file)).includes('kim.lee@example.com')).toBe(false);
      }
    }
    const read = await t.http().get('/v1/sites/site-1001').set('Authorization', t.auth('viewer')).expect(200);
    expect(read.body.contacts).toEqual([contact]);
  });

  it('changes a site and reads it back as of an earlier time and version', async () => {
    await register().expect(201);
    t.clock.advance(60_000);
    const between = t.clock.now().toISOString();
    t.clock.advance(60_000);
    await t
      .http()
      .post('/v1/sites/site-1001/suspend')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'unpaid invoice' })
      .expect(200)
      .expect('ETag', '"2"');
    await t
      .http()
      .post('/v1/sites/site-1001/products')
      .set('Authorization', t.auth('operator'))
      .send({ installationId: 'inst-43', productKey: 'blog' })
      .expect(200);

    const now = await t.http().get('/v1/sites/site-1001').set('Authorization', t.auth('viewer')).expect(200);
    expect(now.body).toMatchObject({ status: 'suspended', version: 3 });
    expect(now.body.products).toHaveLength(2);
    expect(now.headers['etag']).toBe('"3"');

    const earlier = await t
      .http()
      .get('/v1/sites/site-1001')
      .query({ asOf: between })
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(earlier.body).toMatchObject({ status: 'active', version: 1, asOf: between });
    expect(earlier.body.products).toHaveLength(1);

    const atVersion2 = await t
      .http()
      .get('/v1/sites/site-1001?version=2')
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(atVersion2.body).toMatchObject({ status: 'suspended', version: 2 });
    expect(atVersion2.body.products).toHaveLength(1);
  });

  it('answers 404 for a time before the site existed, a version past its end, and unknown sites', async () => {
    const before = new Date(Date.now() - 3_600_000).toISOString();
    await register().expect(201);
    const viewer = t.auth('viewer');
    const tooEarly = await t.http().get(`/v1/sites/site-1001?asOf=${before}`).set('Authorization', viewer).expect(404);
    expect(tooEarly.body.code).toBe('site.not-found');
    await t.http().get('/v1/sites/site-1001?version=2').set('Authorization', viewer).expect(404);
    await t.http().get('/v1/sites/nope').set('Authorization', viewer).expect(404);
    await t.http().get('/v1/sites/nope/history').set('Authorization', viewer).expect(404);
  });

  it('accepts asOf with a zone offset and compares it as a time', async () => {
    await register().expect(201);
    t.clock.advance(60_000);
    await t
      .http()
      .post('/v1/sites/site-1001/suspend')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'x' })
      .expect(200);
    const registeredAt = (await t.allEvents())[0]!.metadata.occurredAt;
    // The same instant as registeredAt + 1 ms, written in +02:00.
    const shifted = new Date(new Date(registeredAt).getTime() + 1 + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const response = await t
      .http()
      .get('/v1/sites/site-1001')
      .query({ asOf: shifted })
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(response.body.status).toBe('active');
  });

  it('pages through history oldest first without gaps or repeats', async () => {
    await register().expect(201);
    const operator = t.auth('operator');
    for (let i = 0; i < 6; i += 1) {
      await t
        .http()
        .post(`/v1/sites/site-1001/${i % 2 === 0 ? 'suspend' : 'reactivate'}`)
        .set('Authorization', operator)
        .send({ reason: `step ${i}` })
        .expect(200);
    }
    const versions: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await t
        .http()
        .get('/v1/sites/site-1001/history')
        .query(cursor ? { limit: 3, cursor } : { limit: 3 })
        .set('Authorization', t.auth('viewer'))
        .expect(200);
      versions.push(...response.body.events.map((event: { version: number }) => event.version));
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(pages).toBe(3);

    const first = await t
      .http()
      .get('/v1/sites/site-1001/history?limit=1')
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(first.body.events[0]).toMatchObject({
      type: 'SiteRegistered',
      streamId: 'site-site-1001',
      version: 1,
      actor: 'operator',
      position: expect.any(String),
      occurredAt: expect.any(String),
      prevHash: '0'.repeat(64),
      data: { contacts: [contact] },
    });
    expect(first.body.events[1]).toBeUndefined();
    const step = await t
      .http()
      .get('/v1/sites/site-1001/history?limit=1&cursor=1')
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(step.body.events[0].metadata).toMatchObject({ reason: 'step 0', actor: 'operator' });
  });

  it('products, contacts and deletion protection change the state, each recorded once', async () => {
    await register().expect(201);
    const operator = t.auth('operator');
    await t
      .http()
      .delete('/v1/sites/site-1001/products/inst-42')
      .set('Authorization', operator)
      .send({ reason: 'uninstalled' })
      .expect(200);
    await t
      .http()
      .delete('/v1/sites/site-1001/products/inst-42')
      .set('Authorization', operator)
      .send({ reason: 'again' })
      .expect(404);
    const newContacts = [{ name: 'Sam Roe', email: 'sam@example.com', role: 'billing' }];
    const updated = await t
      .http()
      .put('/v1/sites/site-1001/contacts')
      .set('Authorization', operator)
      .send({ contacts: newContacts })
      .expect(200);
    expect(updated.body.contacts).toEqual(newContacts);
    // Same contacts again: nothing to record, same version.
    const same = await t
      .http()
      .put('/v1/sites/site-1001/contacts')
      .set('Authorization', operator)
      .send({ contacts: newContacts })
      .expect(200);
    expect(same.body.version).toBe(updated.body.version);
    const protectedSite = await t
      .http()
      .put('/v1/sites/site-1001/deletion-protection')
      .set('Authorization', operator)
      .send({ enabled: true, reason: 'key account' })
      .expect(200);
    expect(protectedSite.body.deletionProtection).toBe(true);
    expect((await t.allEvents()).map((event) => event.type)).toEqual([
      'SiteRegistered',
      'SiteProductRemoved',
      'SiteContactsUpdated',
      'SiteDeletionProtectionEnabled',
    ]);
  });

  it('legal holds are admin-only and record who placed them', async () => {
    await register().expect(201);
    const forbidden = await t
      .http()
      .put('/v1/sites/site-1001/legal-hold')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'litigation', reference: 'LH-1' })
      .expect(403);
    expect(forbidden.body.code).toBe('site.admin-required');
    const held = await t
      .http()
      .put('/v1/sites/site-1001/legal-hold')
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'litigation', reference: 'LH-1' })
      .expect(200);
    expect(held.body.legalHold).toMatchObject({ reason: 'litigation', reference: 'LH-1', placedBy: 'admin' });
    await t
      .http()
      .put('/v1/sites/site-1001/legal-hold')
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'x', reference: 'LH-2' })
      .expect(409);
    await t
      .http()
      .delete('/v1/sites/site-1001/legal-hold')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'done' })
      .expect(403);
    const released = await t
      .http()
      .delete('/v1/sites/site-1001/legal-hold')
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'done' })
      .expect(200);
    expect(released.body.legalHold).toBeNull();
  });

  it('deletion protection: operators enable, only admins disable', async () => {
    await register().expect(201);
    await t
      .http()
      .put('/v1/sites/site-1001/deletion-protection')
      .set('Authorization', t.auth('operator'))
      .send({ enabled: true, reason: 'vip' })
      .expect(200);
    const refused = await t
      .http()
      .put('/v1/sites/site-1001/deletion-protection')
      .set('Authorization', t.auth('operator'))
      .send({ enabled: false, reason: 'cleanup' })
      .expect(403);
    expect(refused.body.code).toBe('site.admin-required');
    const disabled = await t
      .http()
      .put('/v1/sites/site-1001/deletion-protection')
      .set('Authorization', t.auth('admin'))
      .send({ enabled: false, reason: 'contract ended' })
      .expect(200);
    expect(disabled.body.deletionProtection).toBe(false);
  });

  it('If-Match: a stale version is 412 and changes nothing; the current one succeeds', async () => {
    await register().expect(201);
    const stale = await t
      .http()
      .post('/v1/sites/site-1001/suspend')
      .set('Authorization', t.auth('operator'))
      .set('If-Match', '"7"')
      .send({ reason: 'x' })
      .expect(412);
    expect(stale.body.code).toBe('site.version-mismatch');
    // An ETag names the state an answer shows; a refusal shows none.
    expect(stale.headers['etag']).toBeUndefined();
    expect(await t.allEvents()).toHaveLength(1);
    await t
      .http()
      .post('/v1/sites/site-1001/suspend')
      .set('Authorization', t.auth('operator'))
      .set('If-Match', '"1"')
      .send({ reason: 'x' })
      .expect(200)
      .expect('ETag', '"2"');
  });

  it('conflicting state changes are 409 with a stable code', async () => {
    await register().expect(201);
    const response = await t
      .http()
      .post('/v1/sites/site-1001/reactivate')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'x' })
      .expect(409);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: 409,
      code: 'site.not-suspended',
      title: 'Conflict',
      type: expect.any(String),
      detail: expect.any(String),
    });
  });

  it('DELETE /v1/sites/:id is always 405 and points to /v1/operations', async () => {
    await register().expect(201);
    for (const auth of [t.auth('admin'), undefined]) {
      const call = t.http().delete('/v1/sites/site-1001');
      const response = await (auth ? call.set('Authorization', auth) : call).expect(405);
      expect(response.headers['allow']).toBe('GET');
      expect(response.body.code).toBe('site.delete-not-allowed');
      expect(response.body.detail).toContain('/v1/operations');
    }
    await t.http().delete('/v1/sites/not%20even%20an%20id').expect(405);
    await t.http().delete('/v1/sites/unknown-site').set('Authorization', t.auth('admin')).expect(405);
    const state = await t.http().get('/v1/sites/site-1001').set('Authorization', t.auth('viewer')).expect(200);
    expect(state.body.status).toBe('active');
  });

  it('keeps site IDs and installation IDs apart, and each installation on one site (409)', async () => {
    await register().expect(201);
    const operator = t.auth('operator');
    const asSite = await register({ siteId: 'inst-42', customerId: 'c', name: 'n' }).expect(409);
    expect(asSite.body.code).toBe('site.id-collision');
    expect(asSite.body.detail).toContain('site-1001');
    const taken = await register({
      siteId: 'other',
      customerId: 'c',
      name: 'n',
      products: [{ installationId: 'inst-42', productKey: 'x' }],
    }).expect(409);
    expect(taken.body.code).toBe('site.installation-taken');
    await register({ siteId: 'other', customerId: 'c', name: 'n' }).expect(201);
    const asInstallation = await t
      .http()
      .post('/v1/sites/other/products')
      .set('Authorization', operator)
      .send({ installationId: 'site-1001', productKey: 'x' })
      .expect(409);
    expect(asInstallation.body.code).toBe('site.id-collision');
    const stolen = await t
      .http()
      .post('/v1/sites/other/products')
      .set('Authorization', operator)
      .send({ installationId: 'inst-42', productKey: 'x' })
      .expect(409);
    expect(stolen.body.code).toBe('site.installation-taken');
    // Once removed from its site, an installation ID may move to another.
    await t
      .http()
      .delete('/v1/sites/site-1001/products/inst-42')
      .set('Authorization', operator)
      .send({ reason: 'moved' })
      .expect(200);
    await t
      .http()
      .post('/v1/sites/other/products')
      .set('Authorization', operator)
      .send({ installationId: 'inst-42', productKey: 'x' })
      .expect(200);
  });

  it('correlates: a caller-given X-Correlation-Id is echoed and recorded', async () => {
    const response = await register().set('X-Correlation-Id', 'incident-4711').expect(201);
    expect(response.headers['x-correlation-id']).toBe('incident-4711');
    expect((await t.allEvents())[0]!.metadata.correlationId).toBe('incident-4711');
  });

  it('concurrent commands on one site all land, each exactly once, in one unbroken chain', async () => {
    await register().expect(201);
    const operator = t.auth('operator');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t
          .http()
          .post('/v1/sites/site-1001/products')
          .set('Authorization', operator)
          .send({ installationId: `inst-c${i}`, productKey: 'p' }),
      ),
    );
    expect(results.map((response) => response.status)).toEqual(Array(8).fill(200));
    const events = await t.allEvents();
    expect(events.map((event) => event.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 1; i < events.length; i += 1) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
  });
});

describe('durability across restarts', () => {
  it('what was answered 2xx is there after the app is stopped and started on the same data', async () => {
    const first = await startTestApp();
    const dataDir = first.config.dataDir;
    await first.http().post('/v1/sites').set('Authorization', first.auth('operator')).send(site).expect(201);
    await first
      .http()
      .post('/v1/sites/site-1001/suspend')
      .set('Authorization', first.auth('operator'))
      .send({ reason: 'x' })
      .expect(200);
    await first.app.close();

    const second = await startTestApp({ dataDir });
    try {
      const response = await second
        .http()
        .get('/v1/sites/site-1001')
        .set('Authorization', second.auth('viewer'))
        .expect(200);
      expect(response.body).toMatchObject({ status: 'suspended', version: 2, contacts: [contact] });
    } finally {
      await second.close();
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
