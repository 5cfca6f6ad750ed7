import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from './support/test-app.js';

/**
 * Inputs an independent fuzzing run turned into 500s (issue 12): ISO 8601
 * forms the validator accepted but Date could not read, and a deeply nested
 * body that overflowed validation. Each is a 400 naming the problem, and
 * changes nothing.
 */
describe('strict input', () => {
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

  // Each was once accepted: some answered 500, the audit's from/to answered 200 with wrong results.
  const NOT_RFC_3339 = [
    '2026-W01-1T00:00Z',
    '2026-001T00:00Z',
    '2026-01-01T00Z',
    '20260101T000000Z',
    '2026-01-01T00:00:00,5Z',
    '+2026-01-01T00:00Z',
    '2026-01-01T00:00:00',
    '2026-02-30T00:00:00Z',
  ];

  describe.each(NOT_RFC_3339)('the time %s', (time) => {
    const query = encodeURIComponent(time);
    it.each([
      ['GET /v1/stats?asOf', `/v1/stats?asOf=${query}`, 'asOf'],
      ['GET /v1/sites?asOf', `/v1/sites?asOf=${query}`, 'asOf'],
      ['GET /v1/sites/:id?asOf', `/v1/sites/site-1?asOf=${query}`, 'asOf'],
      ['GET /v1/audit/events?from', `/v1/audit/events?from=${query}`, 'from'],
      ['GET /v1/audit/events?to', `/v1/audit/events?to=${query}`, 'to'],
    ])('%s → 400 naming the field', async (_, path, field) => {
      const response = await t.http().get(path).set('Authorization', t.auth('viewer')).expect(400);
      expect(response.body).toMatchObject({ code: 'request.invalid', errors: [{ field }] });
    });

    it('POST /v1/sites/:id/revert {to} → 400 naming to, recording nothing', async () => {
      const response = await t
        .http()
        .post('/v1/sites/site-1/revert')
        .set('Authorization', t.auth('operator'))
        .send({ to: time, reason: 'fuzz' })
        .expect(400);
      expect(response.body).toMatchObject({ code: 'request.invalid', errors: [{ field: 'to' }] });
      expect((await t.allEvents()).length).toBe(eventsBefore);
    });
  });

  it('an offset other than Z reads as the same moment everywhere', async () => {
    const later = new Date(Date.now() + 60_000);
    const sameMomentInParis = `${new Date(later.getTime() + 3_600_000).toISOString().slice(0, 19)}+01:00`;
    const [utc, paris] = await Promise.all(
      [later.toISOString(), sameMomentInParis].map((asOf) =>
        t
          .http()
          .get(`/v1/stats?asOf=${encodeURIComponent(asOf)}`)
          .set('Authorization', t.auth('viewer'))
          .expect(200),
      ),
    );
    expect(paris!.body.total).toBe(utc!.body.total);
  });

  it.each([
    ['POST /v1/sites', 'post', '/v1/sites'],
    ['POST /v1/operations', 'post', '/v1/operations'],
    ['PUT /v1/sites/:id/contacts', 'put', '/v1/sites/site-1/contacts'],
  ] as const)('%s with a body nested 3,000 deep → 400 request.too-deep', async (_, method, path) => {
    const response = await t
      .http()
      [method](path)
      .set('Authorization', t.auth('operator'))
      .set('Content-Type', 'application/json')
      .send('['.repeat(3000) + ']'.repeat(3000))
      .expect(400);
    expect(response.body).toMatchObject({ status: 400, code: 'request.too-deep' });
    expect((await t.allEvents()).length).toBe(eventsBefore);
  });

  it('a body with a lone surrogate (not I-JSON, so no canonical form to hash) → 400 request.invalid-unicode', async () => {
    const response = await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .set('Content-Type', 'application/json')
      .send('{"siteId": "site-3", "customerId": "c", "name": "Shop \\ud800"}')
      .expect(400);
    expect(response.body).toMatchObject({ status: 400, code: 'request.invalid-unicode' });
    expect((await t.allEvents()).length).toBe(eventsBefore);
  });

  it('a body of ordinary depth with a deep unknown field is still named as unknown', async () => {
    const response = await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 'site-2', customerId: 'c', name: 'n', extra: { a: { b: { c: 1 } } } })
      .expect(400);
    expect(response.body.errors[0]).toMatchObject({ field: 'extra', problem: 'unknown-field' });
  });
});
