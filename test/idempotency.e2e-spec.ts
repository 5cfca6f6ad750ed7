import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from '../src/idempotency/idempotency.port.js';
import { idempotencyScope, requestFingerprint } from '../src/http/idempotency.interceptor.js';
import { RetentionSweeper } from '../src/retention/retention-sweeper.js';
import { pollUntil } from '../src/testing/poll-until.js';
import { createTestDatabase, postgresForTests, withRawConnection, type TestDatabase } from '../src/testing/postgres.js';
import { approve, planDeletion, runAllWaves } from './support/operations.js';
import {
  makeDataDir,
  startTestApp,
  useTestApp,
  type AppUnderTest,
  type TestApp,
  type TestPrincipal,
} from './support/test-app.js';

/**
 * `Idempotency-Key` on POST and PUT (SPEC §9): a retry gets the first answer
 * and records nothing; another request with the key is a 422; a retry while
 * the first runs is a 409. Runs on SQLite (e2e) and PostgreSQL (e2e-postgres).
 */

const HOUR = 3_600_000;
const EMAIL = 'kim.idempotent@example.com';

const site = (siteId: string, extra: Record<string, unknown> = {}) => ({
  siteId,
  customerId: `cust-${siteId}`,
  name: `Shop ${siteId}`,
  region: 'eu-west',
  contacts: [{ name: 'Kim Lee', email: EMAIL, role: 'owner' }],
  ...extra,
});

/** The headers a replay must repeat, as the first answer gave them. */
const REPLAYED = ['content-type', 'etag', 'location', 'ledger-position'];

function calls(t: AppUnderTest) {
  return {
    register: (key: string | undefined, body: object, by: TestPrincipal = 'operator') => {
      const call = t.http().post('/v1/sites').set('Authorization', t.auth(by));
      return (key === undefined ? call : call.set('Idempotency-Key', key)).send(body);
    },
    suspend: (siteId: string, key: string, reason = 'unpaid invoice', by: TestPrincipal = 'operator') =>
      t
        .http()
        .post(`/v1/sites/${siteId}/suspend`)
        .set('Authorization', t.auth(by))
        .set('Idempotency-Key', key)
        .send({ reason }),
    eventCount: async () => (await t.allEvents()).length,
  };
}

/** Every stored answer, raw, as the database holds it. */
async function storedAnswers(t: AppUnderTest): Promise<string[]> {
  if (t.config.store === 'postgres') {
    const { rows } = await withRawConnection(t.config.postgresUrl, (raw) =>
      raw.query<{ answer: string | null }>('SELECT answer FROM idempotency_keys'),
    );
    return rows.map((row) => row.answer ?? '');
  }
  const db = new Database(join(t.config.dataDir, 'idempotency.db'), { readonly: true });
  try {
    return db
      .prepare<[], { answer: string | null }>('SELECT answer FROM idempotency_keys')
      .all()
      .map((row) => row.answer ?? '');
  } finally {
    db.close();
  }
}

describe('Idempotency-Key', () => {
  const t = useTestApp();
  const { register, suspend, eventCount } = calls(t);

  it('replays the first answer to a retry, status, body and headers, and records nothing', async () => {
    const first = await register('reg-1', site('idem-1'));
    expect(first.status, first.text).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const recorded = await eventCount();

    // Member order and spacing do not make another request: the body is compared in canonical JSON.
    const reordered = Object.fromEntries(Object.entries(site('idem-1')).reverse());
    for (const body of [site('idem-1'), reordered]) {
      const again = await register('reg-1', body);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.text).toBe(first.text);
      for (const name of REPLAYED) {
        expect(first.headers[name], name).toBeDefined();
        expect(again.headers[name], name).toBe(first.headers[name]);
      }
    }
    expect(first.body).toMatchObject({ siteId: 'idem-1', version: 1, contacts: [{ email: EMAIL }] });
    expect(await eventCount()).toBe(recorded);

    // The control: without the key, the same request runs again and is refused.
    const unkeyed = await register(undefined, site('idem-1'));
    expect(unkeyed.status).toBe(409);
  });

  it('refuses the key with another body (422 idempotency.key-reused) and records nothing', async () => {
    await register('reg-2', site('idem-2')).expect(201);
    const recorded = await eventCount();
    const other = await register('reg-2', site('idem-2b'));
    expect(other.status).toBe(422);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(other.body).toMatchObject({ status: 422, code: 'idempotency.key-reused' });
    expect(await eventCount()).toBe(recorded);
    await t.http().get('/v1/sites/idem-2b').set('Authorization', t.auth('viewer')).expect(404);
  });

  it('keeps a 4xx the command decided and replays it; a rejected plan is recorded once', async () => {
    await register(undefined, site('idem-3')).expect(201);
    const exists = await register('reg-3', site('idem-3'));
    expect(exists.status).toBe(409);
    const replayed = await register('reg-3', site('idem-3'));
    expect(replayed.status).toBe(409);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.headers['content-type']).toBe(exists.headers['content-type']);
    expect(replayed.text).toBe(exists.text);

    const plan = () =>
      t
        .http()
        .post('/v1/operations')
        .set('Authorization', t.auth('operator'))
        .set('Idempotency-Key', 'plan-1')
        .send({ action: 'soft-delete', siteIds: ['no-such-site'], reason: 'cleanup', ticket: 'OPS-9' });
    const rejected = await plan();
    expect(rejected.status).toBe(422);
    const recorded = await eventCount();
    const again = await plan();
    expect(again.status).toBe(422);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(rejected.text);
    expect(await eventCount()).toBe(recorded);
  });

  it('does not keep a 400: the input never reached the command, so the fixed request runs with the same key', async () => {
    const bad = await register('reg-4', { ...site('idem-4'), region: 42 });
    expect(bad.status).toBe(400);
    const fixed = await register('reg-4', site('idem-4'));
    expect(fixed.status).toBe(201);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
    const replayed = await register('reg-4', site('idem-4'));
    expect(replayed.headers['idempotent-replayed']).toBe('true');
  });

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['not printable ASCII', 'tab\tinside'],
    ['not ASCII', 'clé'],
  ])('refuses a key that is %s: 400 naming Idempotency-Key, nothing run', async (_, key) => {
    const recorded = await eventCount();
    const response = await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .set('Idempotency-Key', Buffer.from(key, 'latin1').toString('latin1'))
      .send(site('idem-bad-key'));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      code: 'request.invalid-header',
      errors: [{ field: 'Idempotency-Key', problem: 'invalid' }],
    });
    expect(await eventCount()).toBe(recorded);
  });

  it('accepts a 255-character key', async () => {
    await register('k'.repeat(255), site('idem-long-key')).expect(201);
  });

  it('scopes keys by principal and route: the same key on another site, route or principal is another request', async () => {
    await register('shared-key', site('idem-5a')).expect(201);
    await register(undefined, site('idem-5b')).expect(201);
    // Another route, another site (path parameter): each runs.
    const a = await suspend('idem-5a', 'shared-key');
    const b = await suspend('idem-5b', 'shared-key');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']]).toEqual([undefined, undefined]);
    expect(b.body).toMatchObject({ siteId: 'idem-5b', status: 'suspended' });
    // Another principal, same route, key and body: runs (and meets the suspended site) rather than replays.
    const other = await suspend('idem-5a', 'shared-key', 'unpaid invoice', 'operator2');
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.status).toBe(409);
    // The first principal's retry is still its own answer.
    const retry = await suspend('idem-5a', 'shared-key');
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
  });

  it('answers 409 idempotency.in-flight while the first request runs, and 422 for another request then', async () => {
    await register(undefined, site('idem-6')).expect(201);
    // The seam: the claim a running first request holds, taken in the store as the interceptor takes it.
    const store = t.app.get<IdempotencyStore>(IDEMPOTENCY_STORE);
    const path = '/v1/sites/idem-6/suspend';
    const scope = idempotencyScope('operator', 'POST', '/v1/sites/:siteId/suspend', { siteId: 'idem-6' });
    const claim = await store.claim({
      scope,
      key: 'running',
      fingerprint: requestFingerprint('POST', path, undefined, { reason: 'unpaid invoice' }),
      ttlMs: HOUR,
      claimTtlMs: HOUR,
    });
    expect(claim.outcome).toBe('claimed');
    const recorded = await eventCount();
    const busy = await suspend('idem-6', 'running');
    expect(busy.status).toBe(409);
    expect(busy.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(busy.body).toMatchObject({ code: 'idempotency.in-flight' });
    const other = await suspend('idem-6', 'running', 'another reason');
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'idempotency.key-reused' });
    expect(await eventCount()).toBe(recorded);

    // The first request failed (a 5xx): released, the retry runs.
    if (claim.outcome === 'claimed') await store.release(scope, 'running', claim.token);
    const retry = await suspend('idem-6', 'running');
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.body).toMatchObject({ siteId: 'idem-6', status: 'suspended' });
  });

  it('lets exactly one of many concurrent requests with one key run; the others are told in-flight or replayed', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => register('burst', site('idem-7'))));
    const registered = (await t.allEvents()).filter(
      (event) => event.type === 'SiteRegistered' && event.streamId === 'site-idem-7',
    );
    expect(registered).toHaveLength(1);
    const ran = answers.filter((answer) => answer.status === 201 && answer.headers['idempotent-replayed'] !== 'true');
    expect(ran).toHaveLength(1);
    for (const answer of answers) {
      if (answer.status === 201) expect(answer.text).toBe(ran[0]!.text);
      else expect([answer.status, answer.body.code]).toEqual([409, 'idempotency.in-flight']);
    }
    // Once answered, every retry is the replay.
    const after = await register('burst', site('idem-7'));
    expect([after.status, after.headers['idempotent-replayed']]).toEqual([201, 'true']);
  });

  it('never stores a contact in the clear; after a purge, the replay shows the contacts redacted', async () => {
    const body = site('idem-8', { retention: 'P7D' });
    const first = await register('reg-8', body);
    expect(first.status).toBe(201);
    expect(first.body.contacts).toEqual([{ name: 'Kim Lee', email: EMAIL, role: 'owner' }]);
    const rows = await storedAnswers(t);
    const stored = rows.join('\n');
    const bodies = rows.map((row) => (JSON.parse(row) as { body: string }).body).join('\n');
    expect(bodies).toContain('"siteId":"idem-8"'); // the scan reads the answers
    expect(bodies).toContain('"contacts":[{"sealed":"v1.');
    expect(stored).not.toContain(EMAIL);
    expect(stored).not.toContain('Kim Lee');
    if (t.config.store === 'sqlite') {
      for (const suffix of ['', '-wal']) {
        const file = join(t.config.dataDir, `idempotency.db${suffix}`);
        if (existsSync(file)) expect(readFileSync(file).includes(EMAIL), file).toBe(false);
      }
    }

    const operation = await planDeletion(t, ['idem-8']);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    t.clock.advance(7 * 24 * HOUR + 60_000);
    expect((await t.app.get(RetentionSweeper).sweep()).purged).toEqual(['idem-8']);

    const replayed = await register('reg-8', body);
    expect(replayed.status).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toMatchObject({ siteId: 'idem-8', version: 1, status: 'active' });
    expect(replayed.body.contacts).toEqual([{ redacted: true }]);
    expect(replayed.text).not.toContain(EMAIL);
  });
});

describe('Idempotency-Key in the OpenAPI document', () => {
  const t = useTestApp({ per: 'suite' });

  it('documents the header, the replay header and the 409 and 422 on every POST and PUT, keeping what was declared', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const writes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([method]) => method === 'post' || method === 'put')
        .map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })),
    );
    expect(writes.length).toBeGreaterThanOrEqual(16);
    for (const { route, operation } of writes) {
      expect(
        operation.parameters?.some((parameter) => parameter.in === 'header' && parameter.name === 'Idempotency-Key'),
        route,
      ).toBe(true);
      expect(operation.responses['409']?.description, route).toContain('idempotency.in-flight');
      expect(operation.responses['422']?.description, route).toContain('idempotency.key-reused');
      const successes = Object.entries(operation.responses).filter(([status]) => /^2/.test(status));
      expect(successes.length, route).toBeGreaterThan(0);
      for (const [, response] of successes) expect(response.headers?.['Idempotent-Replayed'], route).toBeDefined();
    }
    // A route's own 409 and 422 keep their descriptions beside the idempotency ones.
    const plan = document.paths['/v1/operations']!['post']!;
    expect(plan.responses['422']!.description).toMatch(/^Rejected and recorded.*; or `idempotency.key-reused`/);
    expect(plan.responses['409']!.description).toMatch(/^A conflicting write; retry; or `idempotency.in-flight`/);
    // Reads take no key.
    const read = document.paths['/v1/sites/{siteId}']!['get']!;
    expect(read.parameters?.some((parameter) => parameter.name === 'Idempotency-Key')).toBe(false);
  });
});

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  responses: Record<string, { description?: string; headers?: Record<string, unknown> }>;
}

describe('Idempotency-Key expiry (LEDGER_IDEMPOTENCY_TTL)', () => {
  const t = useTestApp({ env: { LEDGER_IDEMPOTENCY_TTL: 'PT1S' } });
  const { register, eventCount } = calls(t);

  it('forgets a key after its time to live: the retry then runs again', async () => {
    const first = await register('short', site('idem-ttl'));
    expect(first.status).toBe(201);
    const recorded = await eventCount();
    const later = await pollUntil(() => register('short', site('idem-ttl')), {
      what: 'the key to expire',
      done: (answer) => answer.headers['idempotent-replayed'] !== 'true',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    // Run again: the site exists, so the command refuses and records nothing.
    expect(later.status).toBe(409);
    expect(later.body.code).toMatch(/^site\./);
    expect(await eventCount()).toBe(recorded);
    // That run's answer is a new record, replayed in its turn.
    const replayed = await register('short', site('idem-ttl'));
    expect([replayed.status, replayed.headers['idempotent-replayed']]).toEqual([409, 'true']);
  });
});

const hasPostgres = await postgresForTests();

describe.skipIf(!hasPostgres)('Idempotency-Key across two instances on one PostgreSQL database', () => {
  let database: TestDatabase;
  const apps: TestApp[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const dataDir = makeDataDir();
      dirs.push(dataDir);
      apps.push(await startTestApp({ dataDir, env: { LEDGER_STORE: 'postgres', LEDGER_POSTGRES_URL: database.url } }));
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('replays through the other instance the answer the first gave, recording nothing', async () => {
    const [a, b] = [apps[0]!, apps[1]!];
    const first = await calls(a).register('two-instances', site('idem-pg'));
    expect(first.status).toBe(201);
    const recorded = await calls(a).eventCount();
    const again = await calls(b).register('two-instances', site('idem-pg'));
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(first.text);
    for (const name of REPLAYED) expect(again.headers[name], name).toBe(first.headers[name]);
    expect(await calls(b).eventCount()).toBe(recorded);
    const other = await calls(b).register('two-instances', site('idem-pg-2'));
    expect(other.status).toBe(422);
  });
});
