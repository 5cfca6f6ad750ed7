import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../src/event-store/event-envelope.js';
import { SqliteEventStore } from '../src/event-store/sqlite/sqlite-event-store.js';
import { createTestDatabase } from '../src/testing/postgres.js';
import { approve, planDeletion, registerSites, waitForAny } from './support/operations.js';
import { makeDataDir, startTestApp, useTestApp, type TestApp, type TestPrincipal } from './support/test-app.js';

/*
 * Issue 12, point 7: the 64-way races of the independent run, kept. Each race
 * sends 64 requests for one thing at once: exactly one wins, every loser gets
 * a clean problem+json refusal with a stable code, and the ledger holds the
 * winner's events and nothing from any loser. The last test prints the counts.
 */

const RACERS = 64;

interface RaceResult {
  race: string;
  winners: number;
  losers: Map<string, number>;
}

const results: RaceResult[] = [];
afterAll(() => {
  const lines = results.map(({ race, winners, losers }) => {
    const refused = [...losers.entries()].map(([code, count]) => `${count} ${code}`).join(', ');
    return `${race}: ${RACERS} racers, ${winners} winner, losers ${refused}`;
  });
  console.log(`races (${results.length}):\n  ${lines.join('\n  ')}`);
});

/**
 * Checks the answers of one race: exactly one `won`, every other `refused`
 * (status) with one of `codes`, each a problem+json document; records the counts.
 */
function judge(race: string, responses: Response[], won: number, refused: number, codes: string[]): number {
  const winners = responses.flatMap((response, i) => (response.status === won ? [i] : []));
  expect(winners, `${race}: ${responses.map((response) => response.status).join(' ')}`).toHaveLength(1);
  const losers = new Map<string, number>();
  for (const response of responses.filter((_, i) => i !== winners[0])) {
    expect(response.status, JSON.stringify(response.body)).toBe(refused);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(codes).toContain(response.body.code);
    losers.set(response.body.code, (losers.get(response.body.code) ?? 0) + 1);
  }
  results.push({ race, winners: winners.length, losers });
  return winners[0]!;
}

const all = <T>(make: (i: number) => PromiseLike<T>): Promise<T[]> =>
  Promise.all(Array.from({ length: RACERS }, (_, i) => make(i)));

describe(`${RACERS}-way races for one thing: one winner, clean refusals, nothing recorded by a loser`, () => {
  const t = useTestApp();

  /** Events recorded after `position` (the whole ledger when undefined), in global order. */
  async function eventsAfter(position: string | undefined): Promise<StoredEvent[]> {
    const events = await t.allEvents();
    if (position === undefined) return events;
    const at = events.findIndex((event) => event.position === position);
    expect(at).toBeGreaterThanOrEqual(0);
    return events.slice(at + 1);
  }

  it(`(a) ${RACERS} registrations of one new site ID`, async () => {
    const before = await t.store.lastPosition();
    const responses = await all((i) =>
      t
        .http()
        .post('/v1/sites')
        .set('Authorization', t.auth(i % 2 === 0 ? 'operator' : 'operator2'))
        .send({ siteId: 'raced-site', customerId: `cust-${i}`, name: `Racer ${i}` }),
    );
    const winner = judge('(a) one new site ID', responses, 201, 409, [
      'site.already-exists',
      'ledger.concurrent-change',
    ]);
    const written = await eventsAfter(before);
    expect(written.map((event) => [event.streamId, event.type])).toEqual([['site-raced-site', 'SiteRegistered']]);
    expect(written[0]!.data).toMatchObject({ siteId: 'raced-site', customerId: `cust-${winner}` });
  }, 60_000);

  it(`(b) ${RACERS} new sites claiming one installation ID`, async () => {
    const before = await t.store.lastPosition();
    const responses = await all((i) =>
      t
        .http()
        .post('/v1/sites')
        .set('Authorization', t.auth('operator'))
        .send({
          siteId: `claimant-${i}`,
          customerId: 'cust-race',
          name: `Claimant ${i}`,
          products: [{ installationId: 'raced-installation', productKey: 'shop' }],
        }),
    );
    const winner = judge('(b) one installation ID', responses, 201, 409, [
      'site.installation-taken',
      'ledger.concurrent-change',
    ]);
    const written = await eventsAfter(before);
    expect(written.map((event) => [event.streamId, event.type])).toEqual([
      [`site-claimant-${winner}`, 'SiteRegistered'],
    ]);
    const loser = winner === 0 ? 1 : 0;
    await t.http().get(`/v1/sites/claimant-${loser}`).set('Authorization', t.auth('viewer')).expect(404);
  }, 60_000);

  it(`(c) ${RACERS} suspends of one site with the same If-Match version`, async () => {
    await registerSites(t, ['raced-suspend']);
    const before = await t.store.lastPosition();
    const responses = await all((i) =>
      t
        .http()
        .post('/v1/sites/raced-suspend/suspend')
        .set('Authorization', t.auth('operator'))
        .set('If-Match', '"1"')
        .send({ reason: `racer ${i}` }),
    );
    // A loser's If-Match names a version that has moved on: 412, as README's walk-through says.
    const winner = judge('(c) suspends with If-Match "1"', responses, 200, 412, ['site.version-mismatch']);
    const written = await eventsAfter(before);
    expect(written.map((event) => [event.streamId, event.type])).toEqual([['site-raced-suspend', 'SiteSuspended']]);
    expect(written[0]!.metadata).toMatchObject({ reason: `racer ${winner}` });
    const site = await t.http().get('/v1/sites/raced-suspend').set('Authorization', t.auth('viewer')).expect(200);
    expect(site.body).toMatchObject({ status: 'suspended', version: 2 });
  }, 60_000);

  it(`(d) ${RACERS} approvals, then ${RACERS} executes, of one operation`, async () => {
    await registerSites(t, ['raced-op-1', 'raced-op-2', 'raced-op-3']);
    const operation = await planDeletion(t, ['raced-op-1', 'raced-op-2', 'raced-op-3']);
    expect(operation.requiredApprovals).toBe(1);
    const approvers: TestPrincipal[] = ['approver', 'approver2', 'admin'];
    let before = await t.store.lastPosition();
    const approvals = await all((i) => approve(t, operation, approvers[i % approvers.length]!));
    judge('(d) approvals of one operation', approvals, 200, 409, [
      'operation.not-awaiting-approval',
      'operation.duplicate-approval',
      'ledger.concurrent-change',
    ]);
    const approved = await eventsAfter(before);
    expect(approved.map((event) => event.type)).toEqual(['OperationApproved']);

    before = await t.store.lastPosition();
    const executes = await all((i) =>
      t
        .http()
        .post(`/v1/operations/${operation.operationId}/execute`)
        .set('Authorization', t.auth(i % 2 === 0 ? 'operator' : 'operator2'))
        .send({ digest: operation.digest }),
    );
    judge('(d) executes of one operation', executes, 202, 409, [
      'operation.already-started',
      'ledger.concurrent-change',
    ]);
    await waitForAny(t, operation.operationId, ['paused', 'completed']);
    const started = (await eventsAfter(before)).filter((event) => event.type === 'OperationExecutionStarted');
    expect(started).toHaveLength(1);
    // One execute started one wave set: each site of the first wave deleted once.
    const deletions = (await t.allEvents()).filter((event) => event.type === 'SiteSoftDeleted');
    expect(new Set(deletions.map((event) => event.streamId)).size).toBe(deletions.length);
    expect(deletions.length).toBeGreaterThan(0);
  }, 60_000);
});

/*
 * (e) Two instances, each with its own read models and its own connection to
 * one shared store: the PostgreSQL database in the e2e-postgres project, one
 * ledger file in the e2e project. Requests alternate between them.
 */
describe(`${RACERS}-way races across two instances sharing one store`, () => {
  it(`(e) ${RACERS} registrations of one site ID and ${RACERS} executes of one operation, split over two instances`, async () => {
    const onPostgres = process.env['LEDGER_TEST_STORE'] === 'postgres';
    const database = onPostgres ? await createTestDatabase() : undefined;
    const sharedDir = makeDataDir();
    const stores = onPostgres ? [] : [0, 1].map(() => new SqliteEventStore(join(sharedDir, 'ledger.db')));
    const apps: TestApp[] = [];
    try {
      for (const i of [0, 1])
        apps.push(
          await startTestApp(
            database
              ? { env: { LEDGER_STORE: 'postgres', LEDGER_POSTGRES_URL: database.url } }
              : { eventStore: stores[i]! },
          ),
        );
      const [a, b] = apps as [TestApp, TestApp];
      const instance = (i: number) => (i % 2 === 0 ? a : b);

      const before = await a.store.lastPosition();
      const registrations = await all((i) =>
        instance(i)
          .http()
          .post('/v1/sites')
          .set('Authorization', instance(i).auth('operator'))
          .send({ siteId: 'shared-site', customerId: `cust-${i}`, name: `Racer ${i}` }),
      );
      judge('(e) one new site ID on two instances', registrations, 201, 409, [
        'site.already-exists',
        'ledger.concurrent-change',
      ]);
      const written = (await a.allEvents()).filter(
        (event) => before === undefined || a.store.comparePositions(event.position, before) > 0,
      );
      expect(written.map((event) => event.type)).toEqual(['SiteRegistered']);

      await registerSites(a, ['shared-op-1', 'shared-op-2']);
      const operation = await planDeletion(a, ['shared-op-1', 'shared-op-2']);
      await approve(b, operation).expect(200);
      const executes = await all((i) =>
        instance(i)
          .http()
          .post(`/v1/operations/${operation.operationId}/execute`)
          .set('Authorization', instance(i).auth('operator'))
          .send({ digest: operation.digest }),
      );
      judge('(e) executes of one operation on two instances', executes, 202, 409, [
        'operation.already-started',
        'ledger.concurrent-change',
      ]);
      await waitForAny(a, operation.operationId, ['paused', 'completed']);
      const events = await a.allEvents();
      expect(events.filter((event) => event.type === 'OperationExecutionStarted')).toHaveLength(1);
      const deletions = events.filter((event) => event.type === 'SiteSoftDeleted');
      expect(new Set(deletions.map((event) => event.streamId)).size).toBe(deletions.length);
    } finally {
      for (const app of apps) await app.close();
      for (const store of stores) await store.close();
      await database?.drop();
      rmSync(sharedDir, { recursive: true, force: true });
    }
  }, 90_000);
});
