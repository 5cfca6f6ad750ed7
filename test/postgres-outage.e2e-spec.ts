import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { havePostgresBinaries, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { startService, type RunningService } from './support/service-process.js';
import { TEST_CHECKPOINT_KEY, makeDataDir, writeTestTokens } from './support/test-app.js';

/**
 * PostgreSQL stopped and started under a running instance (issue 10, point
 * 6), on a private server this test creates and owns, never the machine's
 * shared one: commands answer 503 `store.unavailable` and change nothing
 * while it is down; read models, subscriptions and leases come back by
 * themselves; nothing that was answered 2xx is lost.
 */
const canRun = havePostgresBinaries();

describe.skipIf(!canRun)('PostgreSQL stopped and started under a running instance', () => {
  let server: PrivatePostgres;
  let instance: RunningService;
  const dirs: string[] = [];

  beforeAll(async () => {
    server = await startPrivatePostgres();
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const url = new URL(server.url);
    url.pathname = '/tenant_ledger'; // created by the service on its first start
    instance = await startService({
      LEDGER_STORE: 'postgres',
      LEDGER_POSTGRES_URL: url.href,
      LEDGER_DATA_DIR: dataDir,
      LEDGER_TOKENS_FILE: writeTestTokens(dataDir),
      LEDGER_CHECKPOINT_KEY_FILE: TEST_CHECKPOINT_KEY,
      LEDGER_LEASE_TTL: 'PT2S',
      LEDGER_CANARY_SITES: '300',
      LEDGER_LARGE_OPERATION_SITES: '1000',
    });
    expect(instance.output()).toContain('created database tenant_ledger');
  }, 60_000);

  afterAll(async () => {
    if (instance?.child.exitCode !== null) console.log(`the instance exited: ${instance?.output()}`);
    await instance?.kill();
    await server?.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const site = (siteId: string) => ({ siteId, customerId: `cust-${siteId}`, name: siteId, region: 'eu-west' });
  const register = (siteId: string) => instance.call('operator', 'POST', '/v1/sites', site(siteId));
  /** Whether the ledger holds the site, asked once the server is back: its history is read from the store. */
  const exists = async (siteId: string) =>
    (await instance.call('viewer', 'GET', `/v1/sites/${siteId}/history?limit=1`)).status === 200;

  it('commands across a crash: every 2xx survives; while down, 503 store.unavailable and nothing changes', async () => {
    // A steady stream of registrations, through the crash and the restart.
    const answered = new Map<string, number>();
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const siteId = `steady-${i}`;
        answered.set(siteId, (await register(siteId)).status);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    // However the test ends, the writer stops before the instance does.
    onTestFinished(async () => {
      writing = false;
      await writer.catch(() => undefined);
    });
    await pollUntil(async () => [...answered.values()].filter((s) => s === 201).length, {
      what: 'some registrations before the crash',
      done: (created) => created >= 20,
      timeoutMs: 10_000,
    });
    await server.stop('immediate');

    // Down: every command is a 503 problem, and is not recorded.
    const whileDown = await Promise.all(['down-1', 'down-2', 'down-3'].map(register));
    for (const answer of whileDown) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 503, code: 'store.unavailable' });
    }
    // Reads of read models answer from this instance's own file (a site's state is replayed from the store:
    // that read is a 503 too); health says the store is gone.
    expect((await instance.call('viewer', 'GET', '/v1/stats')).status).toBe(200);
    expect((await instance.call('viewer', 'GET', '/v1/sites?limit=5')).status).toBe(200);
    expect((await instance.call('viewer', 'GET', '/v1/sites/steady-0')).body).toMatchObject({
      code: 'store.unavailable',
    });
    expect((await instance.call('viewer', 'GET', '/health')).status).toBe(503);

    await server.start();
    await pollUntil(async () => (await register('after-restart')).status, {
      what: 'commands to succeed again once PostgreSQL is back',
      // 409: an attempt whose answer was lost in the restart had committed after all.
      done: (status) => status === 201 || status === 409,
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    writing = false;
    await writer;

    for (const siteId of ['down-1', 'down-2', 'down-3']) expect(await exists(siteId)).toBe(false);
    const acknowledged = [...answered].filter(([, status]) => status === 201).map(([siteId]) => siteId);
    expect(acknowledged.length).toBeGreaterThan(20);
    for (const siteId of acknowledged) expect(await exists(siteId), `${siteId} was answered 201`).toBe(true);
    for (const status of answered.values()) expect([201, 503]).toContain(status);

    // The read models followed by themselves: every site the ledger holds is counted.
    const stored = [];
    for (const siteId of [...answered.keys(), 'after-restart']) if (await exists(siteId)) stored.push(siteId);
    await pollUntil(async () => (await instance.call('viewer', 'GET', '/v1/stats')).body['total'], {
      what: 'the read models to include every registration, the ones after the restart too',
      done: (total) => total === stored.length,
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect((await instance.call('viewer', 'GET', '/health')).status).toBe(200);
  }, 90_000);

  it('a wave cut off by a crash resumes once PostgreSQL is back, and deletes each site once', async () => {
    // A first wave of 300 sites takes long enough to be cut off by a crash right after the execute.
    const ids = Array.from({ length: 300 }, (_, i) => `wave-${i}`);
    for (let i = 0; i < ids.length; i += 25) {
      const answers = await Promise.all(ids.slice(i, i + 25).map(register));
      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    }
    const planned = await instance.call('operator', 'POST', '/v1/operations', {
      action: 'soft-delete',
      siteIds: ids,
      reason: 'outage drill',
    });
    expect(planned.status).toBe(201);
    const { operationId, digest } = planned.body as { operationId: string; digest: string };
    const approved = await instance.call('approver', 'POST', `/v1/operations/${operationId}/approve`, { digest });
    expect(approved.status).toBe(200);
    const executed = await instance.call('operator', 'POST', `/v1/operations/${operationId}/execute`, { digest });
    expect(executed.status).toBe(202);
    await server.stop('immediate');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.start();

    const operation = await pollUntil(
      async () => (await instance.call('viewer', 'GET', `/v1/operations/${operationId}`)).body,
      {
        what: `operation ${operationId} to finish its first wave after the restart`,
        done: (body) => body['status'] === 'paused' || body['status'] === 'completed',
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    expect(operation['status']).toMatch(/^(paused|completed)$/);
    // The crash cut the wave off: it was retried once the store answered again.
    expect(instance.output()).toContain(`wave of ${operationId} waits for the event store`);
    for (const siteId of ids) {
      const history = await instance.call('viewer', 'GET', `/v1/sites/${siteId}/history`);
      expect((history.body['events'] as { type: string }[]).map((event) => event.type)).toEqual([
        'SiteRegistered',
        'SiteSoftDeleted',
      ]);
    }
  }, 90_000);
});
