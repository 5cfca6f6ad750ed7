import { describe, expect, it } from 'vitest';
import { useTestApp } from './support/test-app.js';

/**
 * `Ledger-Position` and `Ledger-Min-Position` (SPEC §9) on one instance;
 * test/instances.e2e-spec.ts runs the same across processes on PostgreSQL.
 */
describe('read-your-writes headers', () => {
  const t = useTestApp({ per: 'suite' });

  const register = (siteId: string) =>
    t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId, customerId: 'cust-1', name: siteId, region: 'eu-west' });

  it('a command answers the global position of what it recorded', async () => {
    const response = await register('ryw-1').expect(201);
    const position = response.headers['ledger-position'];
    const events = await t.allEvents();
    expect(position).toBe(events.find((event) => event.streamId === 'site-ryw-1')?.position);
  });

  it('a command that records nothing answers the position its state is as of', async () => {
    await register('ryw-2').expect(201);
    const unchanged = await t
      .http()
      .put('/v1/sites/ryw-2/deletion-protection')
      .set('Authorization', t.auth('admin'))
      .send({ enabled: false, reason: 'already off' });
    expect(unchanged.status).toBe(200);
    expect(unchanged.headers['ledger-position']).toBe(await t.store.lastPosition());
  });

  it('a failed command answers no position', async () => {
    const response = await register('ryw-1').expect(409);
    expect(response.headers['ledger-position']).toBeUndefined();
  });

  it('a read at a position already reached answers at once', async () => {
    const { headers } = await register('ryw-3').expect(201);
    const read = await t
      .http()
      .get('/v1/sites/ryw-3')
      .set('Authorization', t.auth('viewer'))
      .set('Ledger-Min-Position', headers['ledger-position'] as string);
    expect(read.status).toBe(200);
  });

  it('a read waits for a position still to come, then answers from it', async () => {
    const next = String(Number(await t.store.lastPosition()) + 1);
    const read = t
      .http()
      .get('/v1/stats')
      .set('Authorization', t.auth('viewer'))
      .set('Ledger-Min-Position', next)
      .then((response) => response);
    const before = (await t.http().get('/v1/stats').set('Authorization', t.auth('viewer'))).body as { total: number };
    await register('ryw-4').expect(201);
    const answered = await read;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ total: before.total + 1 });
  });

  it('a read whose position does not arrive within 2 s answers 503 read-model.behind', async () => {
    const ahead = String(Number(await t.store.lastPosition()) + 1000);
    const response = await t
      .http()
      .get('/v1/sites/ryw-1')
      .set('Authorization', t.auth('viewer'))
      .set('Ledger-Min-Position', ahead);
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body).toMatchObject({ status: 503, code: 'read-model.behind', position: ahead });
  });

  it.each(['abc', '-1', '1.5', ''])('Ledger-Min-Position %j is a 400 naming the header', async (value) => {
    const response = await t
      .http()
      .get('/v1/sites/ryw-1')
      .set('Authorization', t.auth('viewer'))
      .set('Ledger-Min-Position', value);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      code: 'request.invalid-header',
      errors: [{ field: 'Ledger-Min-Position', problem: 'not-a-position' }],
    });
  });
});
