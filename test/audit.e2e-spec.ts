import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_STORE, type KeyStore } from '../src/crypto/key-store.port.js';
import type { StoredEvent } from '../src/event-store/event-envelope.js';
import { AuditProjection } from '../src/audit/audit.projection.js';
import { ProjectionRunner } from '../src/read-models/projection-runner.js';
import { ResponseStreams } from '../src/http/response-stream.js';
import { appendFleetFixture, type FleetFixture } from './support/fleet-fixture.js';
import { listen, StreamClient } from './support/stream-client.js';
import { approve, planDeletion, registerSites, runAllWaves } from './support/operations.js';
import { allPages, useTestApp, type AppUnderTest } from './support/test-app.js';

interface EventBody {
  eventId: string;
  type: string;
  streamId: string;
  position: string;
  occurredAt: string;
  actor: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  [field: string]: unknown;
}

/** Every page of GET /v1/audit/events for `query`, following nextCursor. */
async function auditAll(t: AppUnderTest, query: Record<string, string | number>, between?: () => Promise<void>) {
  const { items: events, pages } = await allPages<EventBody>(t, '/v1/audit/events', 'events', query, between);
  return { events, pages };
}

/** RFC 4180, as a spreadsheet would read it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += char;
  }
  return rows;
}

const iso = (ms: number) => new Date(ms).toISOString();
const positionsAscending = (events: { position: string }[]) =>
  events.every((event, i) => i === 0 || Number(event.position) > Number(events[i - 1]!.position));

describe('audit over HTTP, on a ledger of 10,000 sites', () => {
  const t = useTestApp({ per: 'suite' });
  let fx: FleetFixture;
  let stored: StoredEvent[];
  const viewer = () => t.auth('viewer');

  beforeAll(async () => {
    fx = await appendFleetFixture(t.store, { sites: 10_000 });
    expect(await t.app.get(ProjectionRunner).catchUp(30_000)).toBe(true);
    stored = await t.allEvents();
  });

  it("an operation's events: the deletions it made and the restores that undid them, over two pages", async () => {
    const { events, pages } = await auditAll(t, { operationId: fx.operationId, limit: 1000 });
    expect(pages).toBe(2);
    expect(events).toHaveLength(1500);
    expect(events.filter((event) => event.type === 'SiteSoftDeleted')).toHaveLength(1000);
    expect(events.filter((event) => event.type === 'SiteRestored')).toHaveLength(500);
    expect(positionsAscending(events)).toBe(true);
    expect(events[0]).toEqual({
      eventId: expect.any(String),
      type: 'SiteSoftDeleted',
      streamId: `site-${fx.siteId(2)}`,
      version: 2,
      position: expect.any(String),
      occurredAt: iso(fx.phases.deleted + 2),
      actor: 'system:operations',
      data: expect.objectContaining({ operationId: fx.operationId, previousStatus: 'active' }),
      metadata: expect.objectContaining({ operationId: fx.operationId, actor: 'system:operations' }),
      prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('filters by type list, actor, site and time window, each matching the ledger itself', async () => {
    const expectIds = async (query: Record<string, string | number>, keep: (event: StoredEvent) => boolean) => {
      const { events } = await auditAll(t, { ...query, limit: 1000 });
      const want = stored.filter(keep).map((event) => event.eventId);
      expect(want.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(
        events.map((event) => event.eventId),
        JSON.stringify(query),
      ).toEqual(want);
    };
    await expectIds(
      { type: 'SiteSuspended,SiteRestored' },
      (event) => event.type === 'SiteSuspended' || event.type === 'SiteRestored',
    );
    await expectIds({ actor: 'system:retention' }, (event) => event.metadata.actor === 'system:retention');
    await expectIds({ siteId: fx.siteId(12) }, (event) => event.streamId === `site-${fx.siteId(12)}`);
    const from = fx.phases.deleted + 100;
    const to = fx.phases.deleted + 300;
    const inWindow = (event: StoredEvent) =>
      Date.parse(event.metadata.occurredAt) >= from && Date.parse(event.metadata.occurredAt) <= to;
    await expectIds({ from: iso(from), to: iso(to) }, inWindow);
    await expectIds(
      { from: iso(from), to: iso(to), type: 'SiteSoftDeleted', actor: 'system:operations' },
      (event) => inWindow(event) && event.type === 'SiteSoftDeleted',
    );
    await expectIds(
      { from: iso(fx.phases.restored) },
      (event) => Date.parse(event.metadata.occurredAt) >= fx.phases.restored,
    );
    const none = await t
      .http()
      .get('/v1/audit/events')
      .query({ siteId: 'nobody' })
      .set('Authorization', viewer())
      .expect(200);
    expect(none.body).toEqual({ events: [] });
  });

  it('streams every match as NDJSON, in global order, at the pace the client reads', async () => {
    const audit = t.app.get(AuditProjection);
    const page = audit.page.bind(audit);
    let pagesRead = 0;
    audit.page = (request) => {
      pagesRead += 1;
      return page(request);
    };
    const base = await listen(t);
    const client = await StreamClient.open(`${base}/v1/audit/events?format=ndjson`, { Authorization: viewer() });
    try {
      expect(client.status).toBe(200);
      expect(client.headers['content-type']).toMatch(/^application\/x-ndjson/);
      // Hold the client back: the server must stop reading pages and wait, not queue the whole export.
      client.pause();
      const responses = t.app.get(ResponseStreams);
      await expect
        .poll(() => responses.list().some((open) => open.kind === 'export' && open.blocked), { timeout: 10_000 })
        .toBe(true);
      const stalled = pagesRead;
      for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      expect(pagesRead).toBe(stalled);
      expect(stalled).toBeLessThan(Math.ceil(stored.length / 500));
      const [open] = responses.list();
      expect(open!.buffered).toBeLessThan(256 * 1024);
      expect(open!.sent).toBeLessThan(stored.length);
      client.resume();
      await client.until(() => client.closed, 20_000, 'the end of the export');
    } finally {
      audit.page = page;
      client.close();
    }
    const lines = client.lines().map((line) => JSON.parse(line) as EventBody);
    expect(lines.map((event) => event.eventId)).toEqual(stored.map((event) => event.eventId));
    expect(lines[0]).toMatchObject({ type: 'SiteRegistered', position: stored[0]!.position, actor: 'operator' });
    expect(t.app.get(ResponseStreams).list()).toEqual([]);
  });

  it('streams every match as CSV with a header row; a filtered export holds only the matches', async () => {
    const response = await t
      .http()
      .get('/v1/audit/events')
      .query({ format: 'csv', type: 'SitePurged' })
      .set('Authorization', viewer())
      .expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(response.text);
    expect(rows[0]).toEqual([
      'position',
      'eventId',
      'occurredAt',
      'type',
      'streamId',
      'version',
      'actor',
      'operationId',
      'reason',
      'ticket',
      'correlationId',
      'data',
      'metadata',
      'prevHash',
      'hash',
    ]);
    expect(rows).toHaveLength(1 + 250);
    const purged = stored.filter((event) => event.type === 'SitePurged');
    expect(rows.slice(1).map((row) => row[1])).toEqual(purged.map((event) => event.eventId));
    expect(JSON.parse(rows[1]![12]!)).toEqual(purged[0]!.metadata);
  });

  it('pages without gaps or repeats across 40 pages while new events arrive', async () => {
    const registerTwo = async () => {
      for (const siteId of ['late-1', 'late-2']) {
        await t
          .http()
          .post('/v1/sites')
          .set('Authorization', t.auth('operator'))
          .send({ siteId, customerId: 'c', name: siteId })
          .expect(201);
      }
    };
    const { events, pages } = await auditAll(t, { type: 'SiteRegistered', limit: 250 }, registerTwo);
    expect(pages).toBe(41);
    expect(events).toHaveLength(10_002);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(10_002);
    expect(positionsAscending(events)).toBe(true);
    expect(events.slice(-2).map((event) => event.data['siteId'])).toEqual(['late-1', 'late-2']);
  });

  it('refuses bad input with 400 naming the field', async () => {
    const fleetCursor = Buffer.from('sites:1.1').toString('base64url');
    const bad: [Record<string, string>, string][] = [
      [{ limit: '1001' }, 'limit'],
      [{ limit: '0' }, 'limit'],
      [{ type: 'Site Registered' }, 'type'],
      [{ type: 'A,,B' }, 'type'],
      [{ from: 'today' }, 'from'],
      [{ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to'],
      [{ format: 'xml' }, 'format'],
      [{ format: 'ndjson', limit: '10' }, 'limit'],
      [{ cursor: 'garbage!' }, 'cursor'],
      [{ cursor: fleetCursor }, 'cursor'],
      [{ siteId: 'no spaces' }, 'siteId'],
      [{ actor: 'x'.repeat(65) }, 'actor'],
      [{ operationId: 'op/1' }, 'operationId'],
      [{ correlationId: 'has space' }, 'correlationId'],
      [{ correlationId: 'x'.repeat(129) }, 'correlationId'],
      [{ ticket: '' }, 'ticket'],
      [{ ticket: 'x'.repeat(201) }, 'ticket'],
      [{ colour: 'red' }, 'colour'],
    ];
    for (const [query, field] of bad) {
      const response = await t.http().get('/v1/audit/events').query(query).set('Authorization', viewer()).expect(400);
      expect(
        response.body.errors.map((error: { field: string }) => error.field),
        JSON.stringify(query),
      ).toContain(field);
    }
    await t.http().get('/v1/audit/events').expect(401);
  });
});

describe('audit over HTTP: personal data and odd text', () => {
  const t = useTestApp();

  const contact = { name: 'Kim Lee', email: 'kim.lee@example.com', role: 'owner' };

  it('shows contacts opened, and redacted everywhere once the site is purged', async () => {
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 'site-1', customerId: 'c', name: 'One', contacts: [contact] })
      .expect(201);
    const read = async (format: 'json' | 'ndjson') => {
      const response = await t
        .http()
        .get('/v1/audit/events')
        .query({ siteId: 'site-1', format })
        .set('Authorization', t.auth('viewer'))
        .expect(200);
      return format === 'json'
        ? (response.body.events as EventBody[])
        : response.text
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as EventBody);
    };
    expect((await read('json'))[0]!.data['contacts']).toEqual([contact]);
    expect((await read('ndjson'))[0]!.data['contacts']).toEqual([contact]);

    // What a purge does to personal data: the site's key is destroyed.
    await t.app.get<KeyStore>(KEY_STORE).destroyKey('site-1');
    expect((await read('json'))[0]!.data['contacts']).toEqual([{ redacted: true }]);
    expect((await read('ndjson'))[0]!.data['contacts']).toEqual([{ redacted: true }]);
    const csv = await t
      .http()
      .get('/v1/audit/events')
      .query({ siteId: 'site-1', format: 'csv' })
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(csv.text).not.toContain('kim.lee');
    expect(csv.text).toContain('redacted');
  });

  it('quotes commas, quotes and line breaks in CSV so they read back unchanged', async () => {
    const reason = 'unpaid, "again"\nsee INV-9';
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 'site-1', customerId: 'c', name: 'One' })
      .expect(201);
    await t
      .http()
      .post('/v1/sites/site-1/suspend')
      .set('Authorization', t.auth('operator'))
      .send({ reason })
      .expect(200);
    const response = await t
      .http()
      .get('/v1/audit/events')
      .query({ format: 'csv' })
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    const rows = parseCsv(response.text);
    expect(rows).toHaveLength(3);
    expect(rows.every((row) => row.length === 15)).toBe(true);
    expect(rows[2]![3]).toBe('SiteSuspended');
    expect(rows[2]![8]).toBe(reason);
    expect(JSON.parse(rows[2]![12]!)).toMatchObject({ reason, actor: 'operator' });
  });

  it('is documented in the OpenAPI output with every filter and format', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const operation = document.paths['/v1/audit/events'].get;
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(
      [
        'actor',
        'correlationId',
        'cursor',
        'data',
        'format',
        'from',
        'limit',
        'operationId',
        'siteId',
        'ticket',
        'to',
        'type',
      ].sort(),
    );
    expect(Object.keys(operation.responses['200'].content).sort()).toEqual([
      'application/json',
      'application/x-ndjson',
      'text/csv',
    ]);
  });
});

describe('audit over HTTP: by correlation id and ticket', () => {
  const t = useTestApp();
  const viewer = () => t.auth('viewer');

  const suspend = (siteId: string, correlationId: string) =>
    t
      .http()
      .post(`/v1/sites/${siteId}/suspend`)
      .set({ Authorization: t.auth('operator'), 'X-Correlation-Id': correlationId })
      .send({ reason: 'script run' })
      .expect(200);
  const ids = (events: { eventId: string }[]) => events.map((event) => event.eventId);

  it('finds exactly the events of one X-Correlation-Id, or of one ticket, combined with the other filters, in pages and exports', async () => {
    await registerSites(t, ['a', 'b', 'c', 'd']);
    await suspend('a', 'INC-7.run-1');
    await suspend('b', 'INC-7.run-1');
    await suspend('c', 'INC-7.run-10'); // a longer id is not a match
    const operation = await planDeletion(t, ['d']); // ticket OPS-1
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    const stored = await t.allEvents();
    const byCorrelation = stored.filter((event) => event.metadata.correlationId === 'INC-7.run-1');
    const byTicket = stored.filter((event) => event.metadata.ticket === 'OPS-1');
    expect(ids(byCorrelation)).toHaveLength(2);
    // Every event of the operation carries its plan's ticket, from the plan to the last wave.
    expect(byTicket.map((event) => event.type)).toEqual([
      'OperationPlanned',
      'OperationApproved',
      'OperationExecutionStarted',
      'SiteSoftDeleted',
      'OperationWaveCompleted',
      'OperationCompleted',
    ]);

    const page = (query: Record<string, string | number>) =>
      auditAll(t, { limit: 1, ...query }).then(({ events }) => events);
    expect(ids(await page({ correlationId: 'INC-7.run-1' }))).toEqual(ids(byCorrelation));
    expect(ids(await page({ ticket: 'OPS-1' }))).toEqual(ids(byTicket));
    expect(ids(await page({ ticket: 'OPS-1', type: 'SiteSoftDeleted' }))).toEqual(
      ids(byTicket.filter((event) => event.type === 'SiteSoftDeleted')),
    );
    expect(ids(await page({ correlationId: 'INC-7.run-1', siteId: 'b' }))).toEqual([byCorrelation[1]!.eventId]);
    // A wave's events carry the operation's id as their correlation id.
    expect(ids(await page({ correlationId: operation.operationId, ticket: 'OPS-1' }))).toEqual(
      ids(byTicket.filter((event) => event.metadata.correlationId === operation.operationId)),
    );
    expect(await page({ correlationId: 'INC-7.run-1', ticket: 'OPS-1' })).toEqual([]);
    expect(await page({ ticket: 'OPS' })).toEqual([]);

    const ndjson = await t
      .http()
      .get('/v1/audit/events')
      .query({ format: 'ndjson', correlationId: 'INC-7.run-1' })
      .set('Authorization', viewer())
      .expect(200);
    const lines = ndjson.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as EventBody);
    expect(ids(lines)).toEqual(ids(byCorrelation));
    const csv = await t
      .http()
      .get('/v1/audit/events')
      .query({ format: 'csv', ticket: 'OPS-1' })
      .set('Authorization', viewer())
      .expect(200);
    const rows = parseCsv(csv.text);
    expect(rows.slice(1).map((row) => row[1])).toEqual(ids(byTicket));
    expect(rows.slice(1).every((row) => row[9] === 'OPS-1')).toBe(true);
  });
});
