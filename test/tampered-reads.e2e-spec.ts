import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashEvent } from '../src/event-store/event-envelope.js';
import { tampererOf } from './support/tamper.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Reads check what they fold (issue 12, point 3): a site read — now, as of
 * a time, by version, its history — and any command on the site verify
 * the hash chain of the events they use, and answer problem
 * `ledger.tampered` naming the stream, version and event instead of state
 * folded from tampered events.
 */
describe('a site whose stored events were tampered with', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tenant-ledger-tampered-'));
  const apps: TestApp[] = [];
  const start = async () => {
    const app = await startTestApp({ dataDir });
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is answered ledger.tampered on every read and command, never as state', async () => {
    let t = await start();
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 'victim', customerId: 'c', name: 'Victim shop' })
      .expect(201);
    const registeredAt = new Date().toISOString();
    for (const action of ['suspend', 'reactivate']) {
      await t
        .http()
        .post(`/v1/sites/victim/${action}`)
        .set('Authorization', t.auth('operator'))
        .send({ reason: action })
        .expect(200);
    }
    // A forger rewrites version 1 with a recomputed hash: its own hash holds, its link to version 2 does not.
    const events = (await t.allEvents()).filter((event) => event.streamId === 'site-victim');
    const first = events[0]!;
    const metadata = { ...first.metadata, actor: 'nobody' };
    await tampererOf(t.config).forge(first.eventId, metadata, hashEvent(first.prevHash, { ...first, metadata }));
    const brokenAt = { streamId: 'site-victim', version: 2, eventId: events[1]!.eventId };

    // A fresh instance on the data: nothing it caches was verified before the forgery.
    await t.close();
    apps.splice(0);
    t = await start();
    const expectTampered = async (request: PromiseLike<{ status: number; body: Record<string, unknown> }>) => {
      const response = await request;
      expect(response.status, JSON.stringify(response.body)).toBe(500);
      expect(response.body).toMatchObject({ code: 'ledger.tampered', ...brokenAt });
    };
    const viewer = t.auth('viewer');
    await expectTampered(t.http().get('/v1/sites/victim?version=2').set('Authorization', viewer));
    await expectTampered(
      t.http().get(`/v1/sites/victim?asOf=${new Date().toISOString()}`).set('Authorization', viewer),
    );
    await expectTampered(t.http().get('/v1/sites/victim/history').set('Authorization', viewer));
    await expectTampered(t.http().get('/v1/sites/victim').set('Authorization', viewer));
    const before = (await t.allEvents()).length;
    await expectTampered(
      t.http().post('/v1/sites/victim/suspend').set('Authorization', t.auth('operator')).send({ reason: 'x' }),
    );
    // A read that stops before the break cannot see it: the last event read has no successor to
    // contradict it. Signed checkpoints (GET /v1/ledger/verify?checkpoint=) catch that case.
    await t.http().get('/v1/sites/victim?version=1').set('Authorization', viewer).expect(200);
    await t.http().get(`/v1/sites/victim?asOf=${registeredAt}`).set('Authorization', viewer).expect(200);
    expect((await t.allEvents()).length).toBe(before);

    // Each refusal is counted, by route, for an alert that must never fire.
    const metrics = await t.http().get('/metrics').set('Authorization', viewer).expect(200);
    const counted = (route: string) =>
      Number(
        new RegExp(`^tenant_ledger_tampered_refusals_total\\{route="${route}"\\} (\\d+)$`, 'm').exec(metrics.text)?.[1],
      );
    expect(counted('/v1/sites/:siteId')).toBe(3);
    expect(counted('/v1/sites/:siteId/history')).toBe(1);
    expect(counted('/v1/sites/:siteId/suspend')).toBe(1);
  });
});
