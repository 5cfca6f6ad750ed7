import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from './support/test-app.js';

/**
 * SPEC §6: every bad input is a 400 problem+json naming the field, and a
 * failed request changes nothing (the ledger holds exactly what it held).
 */
describe('bad input', () => {
  const t = useTestApp({ per: 'suite' });
  let eventsBefore: number;
  beforeAll(async () => {
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 'site-1', customerId: 'cust-1', name: 'Shop' })
      .expect(201);
    eventsBefore = (await t.allEvents()).length;
  });

  const valid = { siteId: 'site-2', customerId: 'cust-1', name: 'Shop' };
  type Case = [name: string, method: 'post' | 'put' | 'delete' | 'get', path: string, body: unknown, field: string];
  const cases: Case[] = [
    ['missing siteId', 'post', '/v1/sites', { customerId: 'c', name: 'n' }, 'siteId'],
    ['siteId with a space', 'post', '/v1/sites', { ...valid, siteId: 'bad id' }, 'siteId'],
    ['siteId of 65 chars', 'post', '/v1/sites', { ...valid, siteId: 'x'.repeat(65) }, 'siteId'],
    ['empty siteId', 'post', '/v1/sites', { ...valid, siteId: '' }, 'siteId'],
    ['siteId a number', 'post', '/v1/sites', { ...valid, siteId: 12 }, 'siteId'],
    ['customerId with a slash', 'post', '/v1/sites', { ...valid, customerId: 'a/b' }, 'customerId'],
    ['name missing', 'post', '/v1/sites', { siteId: 's', customerId: 'c' }, 'name'],
    ['internal not a boolean', 'post', '/v1/sites', { ...valid, internal: 'yes' }, 'internal'],
    ['unknown field', 'post', '/v1/sites', { ...valid, status: 'deleted' }, 'status'],
    ['actor in the body', 'post', '/v1/sites', { ...valid, actor: 'someone-else' }, 'actor'],
    ['retention not a duration', 'post', '/v1/sites', { ...valid, retention: '30 days' }, 'retention'],
    ['retention below the minimum', 'post', '/v1/sites', { ...valid, retention: 'P1D' }, 'retention'],
    [
      'product installationId invalid',
      'post',
      '/v1/sites',
      { ...valid, products: [{ installationId: 'a b', productKey: 'k' }] },
      'products[0].installationId',
    ],
    [
      'product with an unknown field',
      'post',
      '/v1/sites',
      { ...valid, products: [{ installationId: 'i', productKey: 'k', x: 1 }] },
      'products[0].x',
    ],
    [
      'duplicate installation',
      'post',
      '/v1/sites',
      {
        ...valid,
        products: [
          { installationId: 'i', productKey: 'k' },
          { installationId: 'i', productKey: 'k' },
        ],
      },
      'products',
    ],
    [
      'contact email invalid',
      'post',
      '/v1/sites',
      { ...valid, contacts: [{ name: 'n', email: 'not-an-email', role: 'r' }] },
      'contacts[0].email',
    ],
    ['contacts not an array', 'put', '/v1/sites/site-1/contacts', { contacts: 'kim' }, 'contacts'],
    ['contacts missing', 'put', '/v1/sites/site-1/contacts', {}, 'contacts'],
    ['reason missing on suspend', 'post', '/v1/sites/site-1/suspend', {}, 'reason'],
    ['reason empty', 'post', '/v1/sites/site-1/suspend', { reason: '' }, 'reason'],
    [
      'enabled not a boolean',
      'put',
      '/v1/sites/site-1/deletion-protection',
      { enabled: 'true', reason: 'r' },
      'enabled',
    ],
    ['legal hold without reference', 'put', '/v1/sites/site-1/legal-hold', { reason: 'r' }, 'reference'],
    ['bad siteId in the path', 'post', '/v1/sites/bad%20id/suspend', { reason: 'r' }, 'siteId'],
    ['bad installationId in the path', 'delete', '/v1/sites/site-1/products/a%20b', { reason: 'r' }, 'installationId'],
    ['asOf not a time', 'get', '/v1/sites/site-1?asOf=yesterday', undefined, 'asOf'],
    ['asOf without a zone', 'get', '/v1/sites/site-1?asOf=2026-01-01T00:00:00', undefined, 'asOf'],
    ['version not a number', 'get', '/v1/sites/site-1?version=abc', undefined, 'version'],
    ['version zero', 'get', '/v1/sites/site-1?version=0', undefined, 'version'],
    ['asOf and version together', 'get', '/v1/sites/site-1?version=1&asOf=2026-01-01T00:00:00Z', undefined, 'version'],
    ['unknown query parameter', 'get', '/v1/sites/site-1?foo=1', undefined, 'foo'],
    ['history limit above 1000', 'get', '/v1/sites/site-1/history?limit=1001', undefined, 'limit'],
    ['history cursor not ours', 'get', '/v1/sites/site-1/history?cursor=abc', undefined, 'cursor'],
  ];

  it.each(cases)('%s → 400 naming %s', async (_name, method, path, body, field) => {
    let call = t.http()[method](path).set('Authorization', t.auth('admin'));
    if (body !== undefined) call = call.send(body as object);
    const response = await call.expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: 400,
      title: 'Bad Request',
      code: expect.any(String),
      detail: expect.any(String),
    });
    expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    expect((await t.allEvents()).length).toBe(eventsBefore);
  });

  it('malformed JSON → 400 request.malformed-json', async () => {
    const response = await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .set('Content-Type', 'application/json')
      .send('{"siteId": "x",')
      .expect(400);
    expect(response.body).toMatchObject({ code: 'request.malformed-json', errors: [{ field: 'body' }] });
    expect((await t.allEvents()).length).toBe(eventsBefore);
  });

  it('a JSON array instead of an object → 400', async () => {
    await t.http().post('/v1/sites').set('Authorization', t.auth('operator')).send([valid]).expect(400);
    expect((await t.allEvents()).length).toBe(eventsBefore);
  });

  it('a malformed If-Match → 400 naming If-Match', async () => {
    const response = await t
      .http()
      .post('/v1/sites/site-1/suspend')
      .set('Authorization', t.auth('operator'))
      .set('If-Match', 'three')
      .send({ reason: 'r' })
      .expect(400);
    expect(response.body.errors[0].field).toBe('If-Match');
    expect((await t.allEvents()).length).toBe(eventsBefore);
  });

  it('several wrong fields are all named at once', async () => {
    const response = await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 'a b', customerId: '', name: 5, surprise: true })
      .expect(400);
    const fields = response.body.errors.map((error: { field: string }) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['siteId', 'customerId', 'name', 'surprise']));
    expect(response.body.errors.find((error: { field: string }) => error.field === 'surprise').problem).toBe(
      'unknown-field',
    );
  });

  it('an unknown route is a 404 problem', async () => {
    const response = await t.http().get('/v1/nothing-here').set('Authorization', t.auth('viewer')).expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.status).toBe(404);
  });
});
