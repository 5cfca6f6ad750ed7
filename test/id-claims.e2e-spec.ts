import { CommandBus } from '@nestjs/cqrs';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Role } from '../src/auth/principal.js';
import { idClaimStreamId, siteStreamId } from '../src/event-store/ledger-streams.js';
import { SqliteEventStore } from '../src/event-store/sqlite/sqlite-event-store.js';
import { toNewEvents, type RequestContext } from '../src/ledger/request-context.js';
import { ProjectionRunner } from '../src/read-models/projection-runner.js';
import { ExecuteSiteCommand } from '../src/sites/site-command.handler.js';
import { makeDataDir, startTestApp, useTestApp, type AppUnderTest, type TestApp } from './support/test-app.js';

/*
 * Site-ID and installation-ID claims (SPEC §9) are made in the shared store,
 * inside the append that uses the ID: requests racing on one new ID have
 * exactly one winner, every loser gets the 409 it would get had it come
 * second, and a loser leaves no claim behind.
 */

const RACERS = 32;

type Product = { installationId: string; productKey: string };

const register = (app: AppUnderTest, siteId: string, products: Product[] = []) =>
  app
    .http()
    .post('/v1/sites')
    .set('Authorization', app.auth('operator'))
    .send({ siteId, customerId: 'cust-race', name: `Site ${siteId}`, products });

const addProduct = (app: AppUnderTest, siteId: string, installationId: string) =>
  app
    .http()
    .post(`/v1/sites/${siteId}/products`)
    .set('Authorization', app.auth('operator'))
    .send({ installationId, productKey: 'p' });

const removeProduct = (app: AppUnderTest, siteId: string, installationId: string) =>
  app
    .http()
    .delete(`/v1/sites/${siteId}/products/${installationId}`)
    .set('Authorization', app.auth('operator'))
    .send({ reason: 'moved' });

async function productsOf(app: AppUnderTest, siteId: string): Promise<string[]> {
  const response = await app.http().get(`/v1/sites/${siteId}`).set('Authorization', app.auth('viewer')).expect(200);
  return (response.body.products as Product[]).map((product) => product.installationId);
}

/** The claim stream of an ID as type + data, oldest first. */
async function claimOf(app: AppUnderTest, id: string): Promise<{ type: string; data: object }[]> {
  const events = await app.store.readStream(idClaimStreamId(id));
  return events.map(({ type, data }) => ({ type, data }));
}

/** The races over HTTP, request i sent to `instance(i)`; state is read back through instance 0. */
function describeRaces(instance: (i: number) => AppUnderTest): void {
  it(`${RACERS} registrations of one new site ID: one 201, the rest site.already-exists, their installations left free`, async () => {
    const responses = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        register(instance(i), 'race-site', [{ installationId: `race-inst-${i}`, productKey: 'p' }]),
      ),
    );
    const winners = responses.flatMap((response, i) => (response.status === 201 ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const response of responses.filter((other) => other.status !== 201)) {
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('site.already-exists');
    }
    const winner = winners[0]!;
    const reader = instance(0);
    expect(await productsOf(reader, 'race-site')).toEqual([`race-inst-${winner}`]);
    expect(await claimOf(reader, 'race-site')).toEqual([{ type: 'SiteIdClaimed', data: { siteId: 'race-site' } }]);
    // A loser's installation was never claimed: another site may take it; the winner's may not.
    const loser = winner === 0 ? 1 : 0;
    expect(await claimOf(reader, `race-inst-${loser}`)).toEqual([]);
    await register(instance(1), 'after-race', [{ installationId: `race-inst-${loser}`, productKey: 'p' }]).expect(201);
    const taken = await register(instance(1), 'too-late', [
      { installationId: `race-inst-${winner}`, productKey: 'p' },
    ]).expect(409);
    expect(taken.body.code).toBe('site.installation-taken');
  });

  it(`${RACERS} sites adding one new installation ID at once: one 200, the rest site.installation-taken`, async () => {
    const sites = Array.from({ length: RACERS }, (_, i) => `host-${i}`);
    for (const [i, siteId] of sites.entries()) await register(instance(i), siteId).expect(201);
    const responses = await Promise.all(sites.map((siteId, i) => addProduct(instance(i), siteId, 'contested-inst')));
    const winners = sites.filter((_, i) => responses[i]!.status === 200);
    expect(winners).toHaveLength(1);
    for (const response of responses.filter((other) => other.status !== 200)) {
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('site.installation-taken');
      expect(response.body.detail).toContain(`site ${winners[0]}`);
    }
    const holders: string[] = [];
    for (const siteId of sites)
      if ((await productsOf(instance(0), siteId)).includes('contested-inst')) holders.push(siteId);
    expect(holders).toEqual(winners);
    expect(await claimOf(instance(0), 'contested-inst')).toEqual([
      { type: 'InstallationIdClaimed', data: { installationId: 'contested-inst', siteId: winners[0] } },
    ]);
  });

  it('site X registered while installation X is added to another site: one of each pair wins, the other is site.id-collision', async () => {
    const pairs = Array.from({ length: RACERS / 2 }, (_, i) => ({ id: `cross-${i}`, host: `cross-host-${i}` }));
    for (const [i, { host }] of pairs.entries()) await register(instance(i), host).expect(201);
    // Each pair on two instances, the registration on one and the installation on the other; half the
    // pairs send the installation first, so either side may arrive first.
    const sent = pairs.map(({ id, host }, i) => {
      const asInstallation = i % 2 === 1 ? addProduct(instance(2 * i), host, id) : undefined;
      const asSite = register(instance(2 * i + (i % 2)), id);
      return [asSite, asInstallation ?? addProduct(instance(2 * i + 1), host, id)] as const;
    });
    const responses = await Promise.all(sent.map((pair) => Promise.all(pair)));
    for (const [i, { id, host }] of pairs.entries()) {
      const [asSite, asInstallation] = responses[i]!;
      const wonAsSite = asSite.status === 201;
      expect([asSite.status, asInstallation.status], `${id}: one winner`).toEqual(wonAsSite ? [201, 409] : [409, 200]);
      expect((wonAsSite ? asInstallation : asSite).body.code, `${id}: the loser's code`).toBe('site.id-collision');
      // What the ledger holds agrees with the answers.
      const site = await instance(0).http().get(`/v1/sites/${id}`).set('Authorization', instance(0).auth('viewer'));
      expect(site.status, `${id}: the site`).toBe(wonAsSite ? 200 : 404);
      expect(await productsOf(instance(0), host), `${host}: its products`).toEqual(wonAsSite ? [] : [id]);
    }
  });

  it(`one installation ID on ${RACERS} new sites registered at once: one 201, the rest site.installation-taken`, async () => {
    const sites = Array.from({ length: RACERS }, (_, i) => `twin-${i}`);
    const responses = await Promise.all(
      sites.map((siteId, i) => register(instance(i), siteId, [{ installationId: 'twin-inst', productKey: 'p' }])),
    );
    const winners = sites.filter((_, i) => responses[i]!.status === 201);
    expect(winners).toHaveLength(1);
    for (const response of responses.filter((other) => other.status !== 201)) {
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('site.installation-taken');
    }
    // A refused registration recorded nothing: neither its site nor its site ID's claim.
    for (const siteId of sites.filter((id) => id !== winners[0])) {
      expect(await instance(0).store.streamVersion(siteStreamId(siteId)), siteId).toBe(0);
      expect(await claimOf(instance(0), siteId), siteId).toEqual([]);
    }
  });
}

describe('ID claims: concurrent HTTP requests on one app (SQLite store)', () => {
  // One process with a synchronous store serves each request's read-decide-append
  // without a pause, so here the claims read decides; the two setups below make
  // the reads go stale (another instance) or interleave (one tick).
  const t = useTestApp();
  describeRaces(() => t);
});

describe('ID claims: two instances on one shared ledger file, each with its own read models', () => {
  // Each app has its own data directory (read models, keys) and its own
  // connection to one ledger file, as instances share one database: an
  // instance's read models see the other's commits only once they poll.
  let sharedDir: string;
  let stores: SqliteEventStore[] = [];
  let apps: TestApp[] = [];

  beforeEach(async () => {
    sharedDir = makeDataDir();
    stores = [0, 1].map(() => new SqliteEventStore(join(sharedDir, 'ledger.db')));
    apps = await Promise.all(stores.map((eventStore) => startTestApp({ eventStore })));
  });
  afterEach(async () => {
    for (const app of apps) await app.close();
    for (const store of stores) await store.close();
    rmSync(sharedDir, { recursive: true, force: true });
  });

  describeRaces((i) => apps[i % apps.length]!);
});

describe('ID claims: commands interleaved in one process', () => {
  const t = useTestApp();
  const context: RequestContext = {
    principal: { id: 'operator', roles: new Set<Role>(['operator']) },
    correlationId: 'id-claims-race',
    causationId: null,
  };

  // Commands started in one tick interleave at every await: all read the
  // claim stream before any appends, so the store's version check, and the
  // command core's second attempt, decide.
  it(`${RACERS} AddSiteProduct commands started together on one new installation ID: one lands, the rest site.installation-taken`, async () => {
    const sites = Array.from({ length: RACERS }, (_, i) => `bus-host-${i}`);
    for (const siteId of sites) await register(t, siteId).expect(201);
    const bus = t.app.get(CommandBus);
    const outcomes = await Promise.allSettled(
      sites.map((siteId) =>
        bus.execute(
          new ExecuteSiteCommand(
            { type: 'AddSiteProduct', data: { siteId, installationId: 'bus-inst', productKey: 'p' } },
            context,
          ),
        ),
      ),
    );
    const winners = sites.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'site.installation-taken' });
    }
    expect(await claimOf(t, 'bus-inst')).toEqual([
      { type: 'InstallationIdClaimed', data: { installationId: 'bus-inst', siteId: winners[0] } },
    ]);
  });
});

describe('ID claims on a ledger recorded before claims existed', () => {
  const t = useTestApp();

  /** A site with one product, appended as the service wrote sites before claims: no claim streams. */
  async function legacySite(siteId: string, installationId: string): Promise<void> {
    const context: RequestContext = {
      principal: { id: 'operator', roles: new Set<Role>(['operator']) },
      correlationId: 'legacy',
      causationId: null,
    };
    const data = {
      siteId,
      customerId: 'cust-old',
      name: 'Old site',
      region: null,
      internal: false,
      products: [{ installationId, productKey: 'p' }],
      contacts: [],
      deletionProtection: false,
      retention: 'P30D',
    };
    const events = toNewEvents([{ type: 'SiteRegistered', data }], context, t.clock.now().toISOString());
    await t.store.append(siteStreamId(siteId), 0, events);
    expect(await t.app.get(ProjectionRunner).catchUp(5_000)).toBe(true);
  }

  it('IDs without claim streams are still guarded (by the site stream and the read model), and released on removal', async () => {
    await legacySite('old-site', 'old-inst');
    expect(await claimOf(t, 'old-site')).toEqual([]);
    await register(t, 'host').expect(201);

    const asSite = await register(t, 'old-inst').expect(409);
    expect(asSite.body).toMatchObject({ code: 'site.id-collision', detail: expect.stringContaining('old-site') });
    expect((await addProduct(t, 'host', 'old-site').expect(409)).body.code).toBe('site.id-collision');
    expect((await addProduct(t, 'host', 'old-inst').expect(409)).body.code).toBe('site.installation-taken');

    // Removing it records the release in a claim stream of its own; from then on the claim stream decides.
    await removeProduct(t, 'old-site', 'old-inst').expect(200);
    expect(await claimOf(t, 'old-inst')).toEqual([
      { type: 'InstallationIdReleased', data: { installationId: 'old-inst', siteId: 'old-site' } },
    ]);
    await addProduct(t, 'host', 'old-inst').expect(200);
    expect((await addProduct(t, 'old-site', 'old-inst').expect(409)).body.code).toBe('site.installation-taken');
  });
});

describe('ID claims follow every path that records products', () => {
  const t = useTestApp();

  it('a revert that would re-add an installation now on another site is refused (site.installation-taken)', async () => {
    await register(t, 'first', [{ installationId: 'moving-inst', productKey: 'p' }]).expect(201);
    await register(t, 'second').expect(201);
    await removeProduct(t, 'first', 'moving-inst').expect(200);
    await addProduct(t, 'second', 'moving-inst').expect(200);
    const revert = (dryRun: boolean) =>
      t
        .http()
        .post('/v1/sites/first/revert')
        .set('Authorization', t.auth('operator'))
        .send({ to: 1, reason: 'undo', dryRun });
    for (const dryRun of [true, false]) {
      expect((await revert(dryRun).expect(409)).body.code, `dryRun ${dryRun}`).toBe('site.installation-taken');
    }
    // Once the other site lets it go, the revert takes it back.
    await removeProduct(t, 'second', 'moving-inst').expect(200);
    await revert(false).expect(200);
    expect(await productsOf(t, 'first')).toEqual(['moving-inst']);
  });
});
