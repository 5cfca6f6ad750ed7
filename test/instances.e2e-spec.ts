import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { createTestDatabase, postgresForTests, type TestDatabase } from '../src/testing/postgres.js';
import { SERVICE, runToExit, startService, type RunningService } from './support/service-process.js';
import { StreamClient } from './support/stream-client.js';
import { TEST_CHECKPOINT_KEY, TOKENS, makeDataDir, writeTestTokens } from './support/test-app.js';

/**
 * Several instances on one PostgreSQL database (SPEC §9), as real processes:
 * `node dist/main.js` three times, each with its own data folder (its own
 * read models), one shared token file and one database.
 */
const hasPostgres = await postgresForTests();

/** Short, so a failover fits in a test; the default is PT10S. */
const LEASE_TTL_MS = 3_000;

describe.skipIf(!hasPostgres)('several instances on one PostgreSQL database', () => {
  let database: TestDatabase;
  const dirs: string[] = [];
  const instances: RunningService[] = [];
  let shared: Record<string, string>;

  const startInstance = async (): Promise<RunningService> => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const instance = await startService({ ...shared, LEDGER_DATA_DIR: dataDir });
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const tokensDir = makeDataDir();
    dirs.push(tokensDir);
    shared = {
      LEDGER_STORE: 'postgres',
      LEDGER_POSTGRES_URL: database.url,
      LEDGER_TOKENS_FILE: writeTestTokens(tokensDir),
      LEDGER_CHECKPOINT_KEY_FILE: TEST_CHECKPOINT_KEY,
      LEDGER_LEASE_TTL: `PT${LEASE_TTL_MS / 1000}S`,
      LEDGER_CANARY_SITES: '300',
      LEDGER_LARGE_OPERATION_SITES: '1000',
    };
    await Promise.all([startInstance(), startInstance(), startInstance()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.kill()));
    await database?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const a = () => instances[0]!;
  const b = () => instances[1]!;
  const c = () => instances[2]!;

  const site = (siteId: string, products: { installationId: string; productKey: string }[] = []) => ({
    siteId,
    customerId: `cust-${siteId}`,
    name: siteId,
    region: 'eu-west',
    products,
  });

  it('any instance takes any command, and a read elsewhere with Ledger-Min-Position sees it', async () => {
    const created = await a().call('operator', 'POST', '/v1/sites', site('multi-1'));
    expect(created.status).toBe(201);
    const position = created.headers.get('ledger-position');
    expect(position).toMatch(/^\d+$/);
    for (const other of [b(), c()]) {
      const read = await other.call('viewer', 'GET', '/v1/sites/multi-1', undefined, {
        'Ledger-Min-Position': position!,
      });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ siteId: 'multi-1', version: 1 });
    }
    const suspended = await b().call(
      'operator',
      'POST',
      '/v1/sites/multi-1/suspend',
      { reason: 'on b' },
      {
        'If-Match': '"1"',
      },
    );
    expect(suspended.status).toBe(200);
    const stats = await c().call('viewer', 'GET', '/v1/stats', undefined, {
      'Ledger-Min-Position': suspended.headers.get('ledger-position')!,
    });
    expect(stats.body).toMatchObject({ byStatus: { suspended: 1 } });
  });

  it('instances racing on one new ID: exactly one wins, whichever instance each request reaches', async () => {
    const racers = Array.from({ length: 24 }, (_, i) => instances[i % 3]!);
    const sameSite = await Promise.all(
      racers.map((instance, i) =>
        instance.call(
          'operator',
          'POST',
          '/v1/sites',
          site('race-site', [{ installationId: `race-inst-${i}`, productKey: 'p' }]),
        ),
      ),
    );
    expect(sameSite.filter((r) => r.status === 201)).toHaveLength(1);
    expect(sameSite.filter((r) => r.status === 409)).toHaveLength(racers.length - 1);

    // Site X registered on one instance while installation X is added to another site on another.
    await a()
      .call('operator', 'POST', '/v1/sites', site('race-owner'))
      .then((r) => expect(r.status).toBe(201));
    const crosswise = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? instances[i % 3]!.call('operator', 'POST', '/v1/sites', site('race-x'))
          : instances[i % 3]!.call('operator', 'POST', '/v1/sites/race-owner/products', {
              installationId: 'race-x',
              productKey: 'p',
            }),
      ),
    );
    const winners = crosswise.filter((r) => r.status === 201 || r.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of crosswise.filter((r) => !winners.includes(r))) {
      expect(loser.status).toBe(409);
      expect(['site.id-collision', 'site.installation-taken', 'site.already-exists', 'site.product-exists']).toContain(
        loser.body['code'],
      );
    }
  });

  it('an SSE client that reconnects to another instance with Last-Event-ID misses nothing and gets nothing twice', async () => {
    const start = await a().call('operator', 'POST', '/v1/sites', site('sse-start'));
    expect(start.status).toBe(201);
    const ids = Array.from({ length: 30 }, (_, i) => `sse-${i}`);
    const headers = { Authorization: `Bearer ${TOKENS.viewer}` };
    const from = start.headers.get('ledger-position')!;
    const first = await StreamClient.open(`${a().base}/v1/events/stream?from=${from}`, headers);
    for (const siteId of ids.slice(0, 10)) await b().call('operator', 'POST', '/v1/sites', site(siteId));
    await first.until(() => first.events().length >= 10, 10_000, 'ten events on instance a');
    first.close();
    const seen = first.events();
    const lastId = seen.at(-1)!.id;
    // Written while no client listens, on every instance.
    for (const [i, siteId] of ids.slice(10, 20).entries())
      await instances[i % 3]!.call('operator', 'POST', '/v1/sites', site(siteId));
    const second = await StreamClient.open(`${c().base}/v1/events/stream`, { ...headers, 'Last-Event-ID': lastId });
    for (const siteId of ids.slice(20)) await a().call('operator', 'POST', '/v1/sites', site(siteId));
    await second.until(() => second.events().length >= 20, 10_000, 'the other twenty events on instance c');
    second.close();
    const all = [...seen, ...second.events()];
    const registered = all.map((frame) => (JSON.parse(frame.data) as { streamId: string }).streamId);
    expect(registered).toEqual(ids.map((id) => `site-${id}`));
    const positions = all.map((frame) => BigInt(frame.id));
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
  });

  it('kill -9 of the instance running a wave: another resumes it within the lease time, and no site is deleted twice', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `wave-${String(i).padStart(3, '0')}`);
    // Several callers at once: registering 300 sites one after another would take most of the test's time.
    for (let i = 0; i < ids.length; i += 30) {
      const answers = await Promise.all(
        ids.slice(i, i + 30).map((id, j) => instances[j % 3]!.call('operator', 'POST', '/v1/sites', site(id))),
      );
      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    }
    const planned = await a().call('operator', 'POST', '/v1/operations', {
      action: 'soft-delete',
      siteIds: ids,
      reason: 'failover drill',
    });
    expect(planned.status).toBe(201);
    const { operationId, digest } = planned.body as { operationId: string; digest: string };
    const approved = await b().call('approver', 'POST', `/v1/operations/${operationId}/approve`, { digest });
    expect(approved.status).toBe(200);
    const runner = await startInstance(); // the instance that takes the execute, and dies in its wave
    const executed = await runner.call('operator', 'POST', `/v1/operations/${operationId}/execute`, { digest });
    expect(executed.status).toBe(202);
    await runner.kill();
    const killedAt = Date.now();

    // The survivor that resumes the wave says so once its commit is in its own read models.
    const recorded = `operation ${operationId}: wave 1 recorded`;
    const survivors = [a(), b(), c()];
    const resumers = await pollUntil(async () => survivors.filter((instance) => instance.output().includes(recorded)), {
      what: `a surviving instance to resume wave 1 of ${operationId}`,
      done: (found) => found.length > 0,
      timeoutMs: LEASE_TTL_MS * 3,
      intervalMs: 25,
      show: () => `runner output: ${runner.output().slice(-2000)}`,
    });
    const resumedAfterMs = Date.now() - killedAt;
    expect(resumers).toHaveLength(1);
    expect(runner.output()).not.toContain(recorded);
    // The lease lapses at most LEASE_TTL after the kill; survivors look every second (a third of this short TTL).
    expect(resumedAfterMs).toBeLessThan(LEASE_TTL_MS + LEASE_TTL_MS / 3 + 2_000);
    const operation = await pollUntil(
      async () => (await a().call('viewer', 'GET', `/v1/operations/${operationId}`)).body,
      {
        what: `instance a to show wave 1 of ${operationId} done`,
        done: (body) => body['status'] !== 'running',
        timeoutMs: 5_000,
      },
    );
    expect(operation['status']).toMatch(/^(paused|completed)$/);

    const audit = await a().call(
      'viewer',
      'GET',
      `/v1/audit/events?operationId=${operationId}&type=SiteSoftDeleted&limit=1000`,
    );
    expect(audit.status).toBe(200);
    const deletions = (audit.body['events'] as { streamId: string }[]).map((event) => event.streamId);
    expect(new Set(deletions).size).toBe(deletions.length);
    expect(deletions.sort()).toEqual(ids.map((id) => `site-${id}`).sort());
  }, 60_000);

  it('an instance on postgres without a shared token file refuses to start', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const { code, output } = await runToExit(SERVICE, {
      LEDGER_STORE: 'postgres',
      LEDGER_POSTGRES_URL: database.url,
      LEDGER_DATA_DIR: dataDir,
    });
    expect(code).toBe(1);
    expect(output).toContain('LEDGER_STORE=postgres needs LEDGER_TOKENS_FILE');
  });
});
