import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY_STORE, type KeyStore } from '../src/crypto/key-store.port.js';
import { EventStreamSettings } from '../src/subscriptions/event-stream.settings.js';
import { ResponseStreams } from '../src/http/response-stream.js';
import { EventSourceParser } from './support/event-source-parser.js';
import { appendFleetFixture } from './support/fleet-fixture.js';
import { approve, planDeletion, runAllWaves } from './support/operations.js';
import { listen, StreamClient } from './support/stream-client.js';
import { startTestApp, useTestApp } from './support/test-app.js';

interface EventBody {
  eventId: string;
  type: string;
  position: string;
  data: Record<string, unknown>;
  [field: string]: unknown;
}

describe('GET /v1/events/stream (Server-Sent Events)', () => {
  const t = useTestApp();
  let base: string;
  const clients: StreamClient[] = [];

  beforeEach(async () => {
    base = await listen(t);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  const open = async (query = '', headers: Record<string, string> = {}) => {
    const client = await StreamClient.open(`${base}/v1/events/stream${query}`, {
      Authorization: t.auth('viewer'),
      ...headers,
    });
    clients.push(client);
    return client;
  };
  const register = (siteId: string, extra: object = {}) =>
    t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId, customerId: 'cust-1', name: siteId, ...extra })
      .expect(201);
  const suspend = (siteId: string) =>
    t
      .http()
      .post(`/v1/sites/${siteId}/suspend`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'test' })
      .expect(200);
  const count = (client: StreamClient, n: number) =>
    client.until(() => client.events().length >= n, 10_000, `${n} events`);

  it('sends every committed event from the start, then each new one: id is the position, event the type, data the view', async () => {
    await register('site-1');
    await register('site-2');
    const client = await open();
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(client.headers['cache-control']).toContain('no-cache');
    await count(client, 2);
    expect(client.frames()[0]).toEqual({ retry: '3000', comments: [] });

    await suspend('site-1');
    await count(client, 3);
    const stored = await t.allEvents();
    const events = client.events();
    expect(events.map((frame) => [frame.id, frame.event])).toEqual(stored.map((event) => [event.position, event.type]));
    const third = JSON.parse(events[2]!.data) as EventBody;
    expect(third).toEqual({
      eventId: stored[2]!.eventId,
      type: 'SiteSuspended',
      streamId: 'site-site-1',
      version: 2,
      position: stored[2]!.position,
      occurredAt: stored[2]!.metadata.occurredAt,
      actor: 'operator',
      data: { siteId: 'site-1' },
      metadata: stored[2]!.metadata,
      prevHash: stored[2]!.prevHash,
      hash: stored[2]!.hash,
    });
  });

  it('resumes after Last-Event-ID (or from) without gaps or repeats; the header wins over from', async () => {
    for (const siteId of ['a', 'b', 'c', 'd', 'e']) await register(siteId);
    const stored = await t.allEvents();
    const first = await open();
    await count(first, 2);
    first.close();
    const resumeAfter = first.events()[1]!.id;

    const resumed = await open(`?from=${stored[0]!.position}`, { 'Last-Event-ID': resumeAfter });
    await suspend('a');
    await count(resumed, 4);
    const all = await t.allEvents();
    expect(resumed.events().map((frame) => frame.id)).toEqual(all.slice(2).map((event) => event.position));

    const fromQuery = await open(`?from=${stored[3]!.position}`);
    await count(fromQuery, 2);
    expect(fromQuery.events().map((frame) => frame.id)).toEqual(all.slice(4).map((event) => event.position));
  });

  it('from=now sends only what is committed from then on, on an empty ledger too', async () => {
    const fromStart = await open('?from=now'); // nothing recorded yet
    await register('a');
    await register('b');
    await count(fromStart, 2);
    const later = await open('?from=now');
    await register('c');
    await count(later, 1);
    await count(fromStart, 3);
    const sites = (client: StreamClient) =>
      client.events().map((frame) => (JSON.parse(frame.data) as EventBody).streamId);
    expect(sites(later)).toEqual(['site-c']);
    expect(sites(fromStart)).toEqual(['site-a', 'site-b', 'site-c']);
  });

  it('filters by types', async () => {
    await register('a');
    await suspend('a');
    await register('b');
    const client = await open('?types=SiteSuspended,SiteReactivated');
    await t
      .http()
      .post('/v1/sites/a/reactivate')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'paid' })
      .expect(200);
    await count(client, 2);
    expect(client.events().map((frame) => frame.event)).toEqual(['SiteSuspended', 'SiteReactivated']);
  });

  it("filters by siteId and by operationId (the audit's rule), with types by AND, replayed and live", async () => {
    for (const siteId of ['a', 'b', 'c']) await register(siteId);
    await suspend('a');
    const operation = await planDeletion(t, ['a', 'b']);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    const { operationId } = operation;
    const afterDeletions = (await t.allEvents()).at(-1)!.position;

    const site = await open('?siteId=a');
    const ofOperation = await open(`?operationId=${operationId}`);
    const restores = await open(`?operationId=${operationId}&types=SiteRestored`);
    // Starts after the deletions: a restore names only the deletion it compensates, which this stream never saw.
    const later = await open(`?from=${afterDeletions}&operationId=${operationId}`);
    const both = await open(`?siteId=b&operationId=${operationId}&types=SiteSoftDeleted,SiteRestored`);

    // Live: an operator restores a by hand; c changes; the operation is rolled back (restoring b).
    await t
      .http()
      .post('/v1/sites/a/restore')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'customer came back' })
      .expect(200);
    await suspend('c');
    await t
      .http()
      .post(`/v1/operations/${operationId}/rollback`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'wrong list' })
      .expect(200);
    await register('d');

    const all = await t.allEvents();
    const audit = await t
      .http()
      .get('/v1/audit/events')
      .query({ operationId, limit: 1000 })
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    const operationPositions: string[] = audit.body.events.map((event: EventBody) => event.position);
    const handRestore = all.find((event) => event.type === 'SiteRestored' && event.streamId === 'site-a')!;
    expect(handRestore.metadata.operationId).toBeUndefined();
    expect(operationPositions).toContain(handRestore.position);
    const positions = (keep: (event: (typeof all)[number]) => boolean) =>
      all.filter(keep).map((event) => event.position);
    const expectations: [StreamClient, string[]][] = [
      [site, positions((event) => event.streamId === 'site-a')],
      [ofOperation, operationPositions],
      [restores, positions((event) => operationPositions.includes(event.position) && event.type === 'SiteRestored')],
      [later, operationPositions.filter((position) => Number(position) > Number(afterDeletions))],
      [
        both,
        positions((event) => event.streamId === 'site-b' && ['SiteSoftDeleted', 'SiteRestored'].includes(event.type)),
      ],
    ];
    expect(expectations.map(([, want]) => want.length)).toEqual([4, 10, 2, 3, 2]);
    for (const [client, want] of expectations) {
      await count(client, want.length);
      expect(client.events().map((frame) => frame.id)).toEqual(want);
    }
  });

  it('frames=unnamed leaves out the event: line, so an EventSource onmessage handler receives every event', async () => {
    await register('a');
    const unnamed = await open('?frames=unnamed');
    const named = await open();
    await suspend('a');
    await count(unnamed, 2);
    await count(named, 2);
    const stored = await t.allEvents();
    expect(unnamed.text).not.toMatch(/^event:/m);
    expect(unnamed.events().map((frame) => frame.id)).toEqual(stored.map((event) => event.position));

    const parse = (text: string) => {
      const parser = new EventSourceParser();
      for (let at = 0; at < text.length; at += 7) parser.feed(text.slice(at, at + 7)); // as if in small chunks
      return parser;
    };
    const plain = parse(unnamed.text);
    expect(
      plain.messages().map((message) => {
        const event = JSON.parse(message.data) as EventBody;
        return [message.lastEventId, event.position, event.type];
      }),
    ).toEqual(stored.map((event) => [event.position, event.position, event.type]));
    // The default, named frames reach only listeners for their type, never onmessage.
    const typed = parse(named.text);
    expect(typed.messages()).toEqual([]);
    expect(typed.dispatched.map((event) => event.type)).toEqual(['SiteRegistered', 'SiteSuspended']);
  });

  it('the EventSource parser follows the standard: CR, LF and CRLF, several data lines, empty event names, comments', () => {
    const parser = new EventSourceParser();
    parser.feed('\uFEFFretry: 10\r\n\r\n: hi\rid: 7\rdata: one\rdata:two\r\r');
    parser.feed('event:\ndata\n\nevent: Named\ndata: x\n\nid: 8\n\n');
    parser.feed('data: y\r');
    parser.feed('\n\r\n');
    expect(parser.dispatched).toEqual([
      { type: 'message', data: 'one\ntwo', lastEventId: '7' },
      { type: 'message', data: '', lastEventId: '7' },
      { type: 'Named', data: 'x', lastEventId: '7' },
      { type: 'message', data: 'y', lastEventId: '8' },
    ]);
  });

  it('sends heartbeats while idle', async () => {
    t.app.get(EventStreamSettings).heartbeatMs = 20;
    const client = await open();
    await client.until(
      () => client.frames().filter((frame) => frame.comments.includes('heartbeat')).length >= 2,
      5000,
      'two heartbeats',
    );
    expect(client.events()).toEqual([]);
  });

  it('refuses a malformed or unknown start position with 400 before streaming', async () => {
    await register('a');
    const viewer = t.auth('viewer');
    const cases: [Record<string, string>, Record<string, string>, string][] = [
      [{}, { 'Last-Event-ID': 'abc' }, 'Last-Event-ID'],
      [{}, { 'Last-Event-ID': '-1' }, 'Last-Event-ID'],
      [{}, { 'Last-Event-ID': '01' }, 'Last-Event-ID'],
      [{}, { 'Last-Event-ID': '999' }, 'Last-Event-ID'],
      [{ from: 'abc' }, {}, 'from'],
      [{ from: '1.5' }, {}, 'from'],
      [{ from: '999' }, {}, 'from'],
      [{ types: 'Site Registered' }, {}, 'types'],
      [{ siteId: 'no spaces' }, {}, 'siteId'],
      [{ operationId: 'op/1' }, {}, 'operationId'],
      [{ frames: 'xml' }, {}, 'frames'],
      [{ since: '1' }, {}, 'since'],
    ];
    for (const [query, headers, field] of cases) {
      const response = await t
        .http()
        .get('/v1/events/stream')
        .query(query)
        .set({ Authorization: viewer, ...headers })
        .expect(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(
        response.body.errors.map((error: { field: string }) => error.field),
        JSON.stringify({ query, headers }),
      ).toContain(field);
    }
    await t.http().get('/v1/events/stream').expect(401);
    expect(t.app.get(ResponseStreams).list()).toEqual([]);
  });

  it('a slow client: the server stops pulling and holds one buffer at most; every event arrives in order once it reads', async () => {
    // About 10 MB of frames: more than the loopback socket buffers hold.
    await appendFleetFixture(t.store, { sites: 10_000 });
    const stored = await t.allEvents();
    expect(stored.length).toBe(13_750);
    const client = await open();
    client.pause();
    const responses = t.app.get(ResponseStreams);
    await expect.poll(() => responses.list()[0]?.blocked, { timeout: 10_000 }).toBe(true);
    const [blocked] = responses.list();
    expect(blocked!.sent).toBeLessThan(stored.length);
    expect(blocked!.buffered).toBeLessThan(256 * 1024);
    // While blocked nothing more is pulled from the store.
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(responses.list()[0]!.sent).toBe(blocked!.sent);

    client.resume();
    await client.until(() => client.events().length >= stored.length, 20_000, 'every event');
    expect(client.events().map((frame) => frame.id)).toEqual(stored.map((event) => event.position));
  });

  it('ends the subscription when the client disconnects', async () => {
    await register('a');
    const client = await open();
    await count(client, 1);
    const responses = t.app.get(ResponseStreams);
    expect(responses.list()).toHaveLength(1);
    client.close();
    await expect.poll(() => responses.list(), { timeout: 5000 }).toEqual([]);
  });

  it('shows contacts opened, and redacted once the site is purged', async () => {
    const contact = { name: 'Kim Lee', email: 'kim.lee@example.com', role: 'owner' };
    await register('a', { contacts: [contact] });
    const before = await open();
    await count(before, 1);
    expect((JSON.parse(before.events()[0]!.data) as EventBody).data['contacts']).toEqual([contact]);

    await t.app.get<KeyStore>(KEY_STORE).destroyKey('a');
    const after = await open();
    await count(after, 1);
    expect((JSON.parse(after.events()[0]!.data) as EventBody).data['contacts']).toEqual([{ redacted: true }]);
    expect(after.text).not.toContain('kim.lee');
  });

  it('is documented in the OpenAPI output', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const operation = document.paths['/v1/events/stream'].get;
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual([
      'Last-Event-ID',
      'frames',
      'from',
      'operationId',
      'siteId',
      'types',
    ]);
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/event-stream']);
  });
});

describe('shutting down with streams open', () => {
  it('ends open streams, so closing the app does not wait for clients', async () => {
    const t = await startTestApp();
    const base = await listen(t);
    const client = await StreamClient.open(`${base}/v1/events/stream`, { Authorization: t.auth('viewer') });
    await client.until(() => client.frames().length >= 1, 5000, 'the retry frame');
    client.pause(); // a client that does not even read
    await t.close();
    client.resume();
    await client.until(() => client.closed, 5000, 'the end of the stream');
  });
});
