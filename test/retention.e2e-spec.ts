import { describe, expect, it } from 'vitest';
import { verifyChain } from '../src/event-store/event-envelope.js';
import { KEY_STORE, type KeyStore } from '../src/crypto/key-store.port.js';
import { RetentionSweeper } from '../src/retention/retention-sweeper.js';
import { pollUntil } from '../src/testing/poll-until.js';
import { useTestApp, type AppUnderTest } from './support/test-app.js';
import { approve, planDeletion, registerSites, runAllWaves } from './support/operations.js';

const DAY = 86_400_000;

/** A site as a viewer reads it, the sweeper run by hand, and deletion through a whole operation. */
function retentionSteps(t: AppUnderTest) {
  return {
    site: (id: string) => t.http().get(`/v1/sites/${id}`).set('Authorization', t.auth('viewer')),
    sweep: () => t.app.get(RetentionSweeper).sweep(),
    async deleteSites(ids: string[]): Promise<void> {
      const operation = await planDeletion(t, ids);
      await approve(t, operation).expect(200);
      await runAllWaves(t, operation);
    },
  };
}

describe('retention, purge and crypto-shredding', () => {
  const t = useTestApp();
  const { site, sweep, deleteSites } = retentionSteps(t);

  it('purges a deleted site once its retention has passed: contacts redacted everywhere, chain intact, key gone', async () => {
    await registerSites(t, ['p1', 'p2'], { retention: 'P7D' });
    await deleteSites(['p1']);
    expect(await sweep()).toMatchObject({ purged: [] }); // not yet due

    t.clock.advance(7 * DAY + 60_000);
    const result = await sweep();
    expect(result.purged).toEqual(['p1']);
    expect(result.shredded).toEqual(['p1']);

    const state = (await site('p1').expect(200)).body;
    expect(state).toMatchObject({ status: 'purged', purgedAt: expect.any(String), contacts: [{ redacted: true }] });
    const history = (await t.http().get('/v1/sites/p1/history').set('Authorization', t.auth('viewer')).expect(200)).body
      .events;
    expect(history[0].data.contacts).toEqual([{ redacted: true }]);
    expect(JSON.stringify(history)).not.toContain('owner0@example.com');
    expect(history.at(-1)).toMatchObject({ type: 'SitePurged', actor: 'system:retention' });
    // The other site keeps its contacts.
    expect((await site('p2').expect(200)).body.contacts[0].email).toBe('owner1@example.com');

    expect(await t.app.get<KeyStore>(KEY_STORE).findKey('p1')).toBeUndefined();
    const events = (await t.allEvents()).filter((event) => event.streamId === 'site-p1');
    expect(verifyChain(events).ok).toBe(true);

    const restore = await t
      .http()
      .post('/v1/sites/p1/restore')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'too late' })
      .expect(409);
    expect(restore.body.code).toBe('site.purged');
    await t
      .http()
      .post('/v1/sites/p1/suspend')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'x' })
      .expect(409);
  });

  it('a purge freeze (admin only, recorded) stops all purging until resumed', async () => {
    await registerSites(t, ['f1'], { retention: 'P7D' });
    await deleteSites(['f1']);
    await t
      .http()
      .put('/v1/policy/purge')
      .set('Authorization', t.auth('operator'))
      .send({ paused: true, reason: 'incident' })
      .expect(403);
    const frozen = await t
      .http()
      .put('/v1/policy/purge')
      .set('Authorization', t.auth('admin'))
      .send({ paused: true, reason: 'incident INC-7' })
      .expect(200);
    expect(frozen.body).toMatchObject({ paused: true, reason: 'incident INC-7', changedBy: 'admin' });
    t.clock.advance(30 * DAY);
    expect(await sweep()).toMatchObject({ paused: true, purged: [] });
    expect((await site('f1').expect(200)).body.status).toBe('deleted');
    const policy = await t.http().get('/v1/policy/purge').set('Authorization', t.auth('viewer')).expect(200);
    expect(policy.body.paused).toBe(true);
    const recorded = (await t.allEvents()).filter((event) => event.streamId === 'policy-purge');
    expect(recorded).toMatchObject([{ type: 'PurgingPaused', metadata: { actor: 'admin', reason: 'incident INC-7' } }]);

    await t
      .http()
      .put('/v1/policy/purge')
      .set('Authorization', t.auth('admin'))
      .send({ paused: false, reason: 'resolved' })
      .expect(200);
    expect((await sweep()).purged).toEqual(['f1']);
  });

  it('a legal hold placed on a deleted site keeps it from being purged until released', async () => {
    await registerSites(t, ['h1'], { retention: 'P7D' });
    await deleteSites(['h1']);
    await t
      .http()
      .put('/v1/sites/h1/legal-hold')
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'subpoena', reference: 'LH-3' })
      .expect(200);
    t.clock.advance(8 * DAY);
    expect((await sweep()).purged).toEqual([]);
    expect((await site('h1').expect(200)).body.status).toBe('deleted');
    await t
      .http()
      .delete('/v1/sites/h1/legal-hold')
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'case closed' })
      .expect(200);
    expect((await sweep()).purged).toEqual(['h1']);
  });

  it('a site restored before expiry is never purged', async () => {
    await registerSites(t, ['r1'], { retention: 'P7D' });
    await deleteSites(['r1']);
    await t
      .http()
      .post('/v1/sites/r1/restore')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'customer came back' })
      .expect(200);
    t.clock.advance(8 * DAY);
    expect((await sweep()).purged).toEqual([]);
    expect((await site('r1').expect(200)).body).toMatchObject({
      status: 'active',
      contacts: [{ email: 'owner0@example.com' }],
    });
  });
});

describe('retention, purge and crypto-shredding: the sweeper on its own', () => {
  const t = useTestApp({ env: { LEDGER_PURGE_INTERVAL: 'PT0.1S' } });
  const { site, deleteSites } = retentionSteps(t);

  it('the sweeper runs by itself every LEDGER_PURGE_INTERVAL', async () => {
    await registerSites(t, ['auto'], { retention: 'P7D' });
    await deleteSites(['auto']);
    t.clock.advance(8 * DAY);
    await pollUntil(async () => (await site('auto').expect(200)).body.status, {
      what: 'the sweeper to purge site auto',
      done: (status) => status === 'purged',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  });
});

describe('single-site restore and revert', () => {
  const t = useTestApp();

  it('restore undoes a soft delete with a compensating event; a second restore is 409', async () => {
    await registerSites(t, ['s1']);
    const operation = await planDeletion(t, ['s1']);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    const restored = await t
      .http()
      .post('/v1/sites/s1/restore')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'mistake' })
      .expect(200);
    expect(restored.body).toMatchObject({ status: 'active', deletedAt: null, purgeAfter: null });
    const events = await t.allEvents();
    const deletion = events.find((event) => event.type === 'SiteSoftDeleted')!;
    expect(events.at(-1)).toMatchObject({
      type: 'SiteRestored',
      data: { compensates: deletion.eventId },
      metadata: { compensates: deletion.eventId },
    });
    const again = await t
      .http()
      .post('/v1/sites/s1/restore')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'again' })
      .expect(409);
    expect(again.body.code).toBe('site.not-deleted');
  });

  it('revert brings a site back to an earlier version; dryRun changes nothing', async () => {
    await registerSites(t, ['v1']);
    const operator = t.auth('operator');
    await t.http().post('/v1/sites/v1/suspend').set('Authorization', operator).send({ reason: 'x' }).expect(200);
    await t
      .http()
      .post('/v1/sites/v1/products')
      .set('Authorization', operator)
      .send({ installationId: 'extra', productKey: 'blog' })
      .expect(200);
    await t.http().put('/v1/sites/v1/contacts').set('Authorization', operator).send({ contacts: [] }).expect(200);
    const before = (await t.allEvents()).length;
    const dry = await t
      .http()
      .post('/v1/sites/v1/revert')
      .set('Authorization', operator)
      .send({ to: 1, reason: 'undo script', dryRun: true })
      .expect(200);
    expect(dry.body.events.map((event: { type: string }) => event.type)).toEqual([
      'SiteReactivated',
      'SiteProductRemoved',
      'SiteContactsUpdated',
    ]);
    expect(dry.body.site).toMatchObject({ status: 'active', version: 7 });
    expect((await t.allEvents()).length).toBe(before);
    const done = await t
      .http()
      .post('/v1/sites/v1/revert')
      .set('Authorization', operator)
      .send({ to: 1, reason: 'undo script' })
      .expect(200);
    expect(done.body.site).toMatchObject({ status: 'active', version: 7, contacts: [{ email: 'owner0@example.com' }] });
    expect(done.body.site.products).toEqual([{ installationId: 'app-v1-0', productKey: 'shop' }]);
    const recorded = (await t.allEvents()).slice(before);
    expect(
      recorded.every((event) => event.metadata.reason === 'undo script' && event.metadata.actor === 'operator'),
    ).toBe(true);
  });

  it('revert never deletes: to a time before the site existed is 409 site.revert-would-delete', async () => {
    const before = new Date(Date.now() - 60_000).toISOString();
    await registerSites(t, ['v2']);
    const response = await t
      .http()
      .post('/v1/sites/v2/revert')
      .set('Authorization', t.auth('operator'))
      .send({ to: before, reason: 'x' })
      .expect(409);
    expect(response.body.code).toBe('site.revert-would-delete');
    await t
      .http()
      .post('/v1/sites/v2/revert')
      .set('Authorization', t.auth('operator'))
      .send({ to: 'yesterday', reason: 'x' })
      .expect(400);
    await t
      .http()
      .post('/v1/sites/v2/revert')
      .set('Authorization', t.auth('operator'))
      .send({ to: 0, reason: 'x' })
      .expect(400);
  });
});
