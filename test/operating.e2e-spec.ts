import { afterEach, describe, expect, it } from 'vitest';
import { newEvent } from '../src/event-store/event-store.contract.js';
import { ProjectionRunner } from '../src/read-models/projection-runner.js';
import { pollUntil } from '../src/testing/poll-until.js';
import { listen, StreamClient } from './support/stream-client.js';
import { useTestApp, type AppUnderTest } from './support/test-app.js';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** The metrics text as a viewer scrapes it. */
async function scrape(t: AppUnderTest): Promise<string> {
  const response = await t.http().get('/metrics').set('Authorization', t.auth('viewer')).expect(200);
  expect(response.headers['content-type']).toBe(PROMETHEUS_TEXT);
  return response.text;
}

/** The value of one series (`name{labels}` exactly as exposed), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const registered = 'tenant_ledger_commands_total{type="RegisterSite",outcome="ok"}';

function register(t: AppUnderTest, siteId: string) {
  return t
    .http()
    .post('/v1/sites')
    .set('Authorization', t.auth('operator'))
    .send({
      siteId,
      customerId: 'c-1',
      name: 'Shop',
      contacts: [{ name: 'Kim Lee', email: 'kim.lee@example.com', role: 'owner' }],
    })
    .expect(201);
}

describe('health endpoints', () => {
  const t = useTestApp({ env: { LEDGER_READY_MAX_LAG: '2' } });

  it('answers /health/live, /health/ready and /health without a token', async () => {
    expect((await t.http().get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await pollUntil(async () => t.http().get('/health/ready'), {
      what: '/health/ready to answer 200 after the start',
      done: (response) => response.status === 200,
      show: (response) => JSON.stringify(response.body),
      timeoutMs: 10_000,
    });
    expect(ready.body).toEqual({
      status: 'ready',
      store: t.config.store,
      readModels: 'live',
      readModelLag: 0,
      maxLag: 2,
    });
    const health = await t.http().get('/health').expect(200);
    expect(health.body).toEqual({ status: 'ok', store: t.config.store, readModels: 'live', readModelLag: 0 });
  });

  it('is not ready while the read models are more than LEDGER_READY_MAX_LAG events behind, and says so', async () => {
    await pollUntil(async () => (await t.http().get('/health/ready')).status, {
      what: 'ready',
      done: (status) => status === 200,
      timeoutMs: 10_000,
    });
    // The read models stop following the store; the ledger moves on by 2, then 3 events.
    await t.app.get(ProjectionRunner).beforeApplicationShutdown();
    await t.store.append('site-behind', 0, [newEvent(), newEvent()]);
    expect((await t.http().get('/health/ready').expect(200)).body).toMatchObject({ status: 'ready', readModelLag: 2 });
    await t.store.append('site-behind', 2, [newEvent()]);
    const behind = await t.http().get('/health/ready').expect(503);
    expect(behind.body).toEqual({
      status: 'not-ready',
      store: t.config.store,
      readModels: 'live',
      readModelLag: 3,
      maxLag: 2,
      reason: 'the read models are 3 events behind the store (at most 2 allowed)',
    });
    // Still alive: restarting would not help, and /health reports the lag too.
    await t.http().get('/health/live').expect(200);
    expect((await t.http().get('/health').expect(200)).body).toMatchObject({ readModelLag: 3 });
    const text = await scrape(t);
    expect(sample(text, 'tenant_ledger_read_model_lag{read_model="audit"}')).toBe(3);
    expect(sample(text, 'tenant_ledger_read_model_lag{read_model="fleet"}')).toBe(3);
  });
});

describe('/metrics', () => {
  const t = useTestApp({ per: 'suite' });
  const clients: StreamClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('needs a token: 401 problem+json without one', async () => {
    const response = await t.http().get('/metrics').expect(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 401, code: 'auth.unauthenticated' });
  });

  it('counts a registration exactly once, under its command type and outcome', async () => {
    const before = sample(await scrape(t), registered) ?? 0;
    await register(t, 'metrics-1');
    expect(sample(await scrape(t), registered)).toBe(before + 1);
    const refused = 'tenant_ledger_commands_total{type="ReactivateSite",outcome="refused"}';
    const refusedBefore = sample(await scrape(t), refused) ?? 0;
    await t
      .http()
      .post('/v1/sites/metrics-1/reactivate')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'not suspended' })
      .expect(409);
    expect(sample(await scrape(t), refused)).toBe(refusedBefore + 1);
  });

  it('times requests by route pattern, never by the raw path', async () => {
    await register(t, 'metrics-2');
    await t.http().get('/v1/sites/metrics-2').set('Authorization', t.auth('viewer')).expect(200);
    const text = await scrape(t);
    const count = 'tenant_ledger_http_request_duration_seconds_count';
    expect(sample(text, `${count}{method="GET",route="/v1/sites/:siteId",status="200"}`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, `${count}{method="POST",route="/v1/sites",status="201"}`)).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('metrics-2');
  });

  it('reports each read model at the number of ledger events applied, none behind', async () => {
    await register(t, 'metrics-3');
    const events = (await t.allEvents()).length;
    const text = await scrape(t);
    for (const readModel of ['installations', 'operations', 'retention', 'fleet', 'audit']) {
      expect(sample(text, `tenant_ledger_read_model_position{read_model="${readModel}"}`)).toBe(events);
      expect(sample(text, `tenant_ledger_read_model_lag{read_model="${readModel}"}`)).toBe(0);
    }
  });

  it('counts open event streams: one more while a client listens, back when it leaves', async () => {
    const gauge = 'tenant_ledger_sse_subscribers';
    expect(sample(await scrape(t), gauge)).toBe(0);
    const client = await StreamClient.open(`${await listen(t)}/v1/events/stream`, { Authorization: t.auth('viewer') });
    clients.push(client);
    expect(client.status).toBe(200);
    expect(sample(await scrape(t), gauge)).toBe(1);
    client.close();
    await pollUntil(async () => sample(await scrape(t), gauge), {
      what: 'the SSE gauge to go back to 0',
      done: (value) => value === 0,
      timeoutMs: 10_000,
    });
  });

  it("includes the process's own figures and holds no token or contact", async () => {
    const text = await scrape(t);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('# TYPE tenant_ledger_wave_duration_seconds histogram');
    expect(text).not.toContain('tl_test_');
    expect(text).not.toContain('kim.lee@example.com');
  });
});
