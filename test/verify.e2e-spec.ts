import { describe, expect, it } from 'vitest';
import { hashEvent, type StoredEvent } from '../src/event-store/event-envelope.js';
import { appendFleetFixture } from './support/fleet-fixture.js';
import { tampererOf } from './support/tamper.js';
import { useTestApp } from './support/test-app.js';

describe('GET /v1/ledger/verify', () => {
  const t = useTestApp();

  const verify = async () =>
    (await t.http().get('/v1/ledger/verify').set('Authorization', t.auth('viewer')).expect(200)).body;
  const register = (siteId: string) =>
    t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId, customerId: 'c', name: siteId })
      .expect(201);
  const suspendAndReactivate = async (siteId: string) => {
    await t
      .http()
      .post(`/v1/sites/${siteId}/suspend`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'x' })
      .expect(200);
    await t
      .http()
      .post(`/v1/sites/${siteId}/reactivate`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'y' })
      .expect(200);
  };
  const tamper = () => tampererOf(t.config);
  const eventOf = (events: StoredEvent[], streamId: string, version: number) =>
    events.find((event) => event.streamId === streamId && event.version === version)!;

  it('reports an empty ledger as intact', async () => {
    expect(await verify()).toEqual({ ok: true, streams: 0, events: 0 });
  });

  it('recomputes every chain and reports the streams and events it checked', async () => {
    await register('a');
    await register('b');
    await suspendAndReactivate('a');
    const events = await t.allEvents();
    expect(await verify()).toEqual({ ok: true, streams: 2, events: 4, lastPosition: events.at(-1)!.position });
  });

  it('finds an event whose data was edited in the store', async () => {
    await register('a');
    await register('b');
    await suspendAndReactivate('a');
    const target = eventOf(await t.allEvents(), 'site-a', 2);
    await tamper().editData(target.eventId, 'siteId', 'z');
    expect(await verify()).toEqual({
      ok: false,
      streams: 2,
      events: 4,
      lastPosition: expect.any(String),
      brokenAt: { streamId: 'site-a', version: 2, eventId: target.eventId },
    });
  });

  it('an edit with a recomputed hash still breaks the link to the next event', async () => {
    await register('a');
    await suspendAndReactivate('a');
    const events = await t.allEvents();
    const edited = eventOf(events, 'site-a', 2);
    const metadata = { ...edited.metadata, actor: 'nobody' };
    const forgedHash = hashEvent(edited.prevHash, { ...edited, metadata });
    await tamper().forge(edited.eventId, metadata, forgedHash);
    const next = eventOf(events, 'site-a', 3);
    expect((await verify()).brokenAt).toEqual({ streamId: 'site-a', version: 3, eventId: next.eventId });
  });

  it('finds an event removed from the middle of a stream', async () => {
    await register('a');
    await suspendAndReactivate('a');
    const events = await t.allEvents();
    await tamper().remove(eventOf(events, 'site-a', 2).eventId);
    expect(await verify()).toMatchObject({
      ok: false,
      events: 2,
      brokenAt: { streamId: 'site-a', version: 3, eventId: eventOf(events, 'site-a', 3).eventId },
    });
  });

  it('verifies a ledger of 10,000 sites and locates one edited event among them', async () => {
    const fx = await appendFleetFixture(t.store, { sites: 10_000 });
    expect(await verify()).toEqual({ ok: true, streams: 10_000, events: 13_750, lastPosition: '13750' });
    const target = eventOf(await t.allEvents(), `site-${fx.siteId(7771)}`, 2); // 7771 was suspended: its second event
    await tamper().editData(target.eventId, 'siteId', 'x');
    expect(await verify()).toEqual({
      ok: false,
      streams: 10_000,
      events: 13_750,
      lastPosition: '13750',
      brokenAt: { streamId: target.streamId, version: 2, eventId: target.eventId },
    });
  });

  it('needs a token, and is documented in the OpenAPI output', async () => {
    await t.http().get('/v1/ledger/verify').expect(401);
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const schema =
      document.components.schemas[
        document.paths['/v1/ledger/verify'].get.responses['200'].content['application/json'].schema.$ref
          .split('/')
          .at(-1)
      ];
    expect(Object.keys(schema.properties).sort()).toEqual([
      'brokenAt',
      'checkpoint',
      'consistencyProof',
      'consistent',
      'current',
      'divergesAt',
      'events',
      'lastPosition',
      'ok',
      'streams',
    ]);
    // Without a checkpoint only the chain report is answered (test/checkpoints.e2e-spec.ts covers the rest).
    expect(schema.required.sort()).toEqual(['events', 'ok', 'streams']);
  });
});
