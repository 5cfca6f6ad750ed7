import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { approve, planDeletion, registerSites, waitForAny, waitForStatus } from './support/operations.js';
import { TOKENS, useTestApp, type TestPrincipal } from './support/test-app.js';

/**
 * Issue 12, point 7: a fuzzer over every route the OpenAPI document
 * (GET /docs-json) lists, so a new route is fuzzed without touching this
 * file. Each request is sent as a known principal, none or a bad token, with
 * fuzzed or valid path parameters, query values, headers and bodies. Every
 * answer must be below 500 and be problem+json or a documented content type;
 * a refused request (4xx) must record nothing, except the one refusal the API
 * records on purpose (422 operation.rejected: an OperationRejected event).
 *
 * FUZZ_SEED and FUZZ_RUNS reproduce or lengthen a run.
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261130);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2000);

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}

interface Route {
  method: Method;
  template: string;
  parameters: Parameter[];
  body?: Schema;
  /** Media types (without parameters) the route documents for each status. */
  contentTypes: Map<number, string[]>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Schema> };
}

interface FuzzRequest {
  route: Route;
  method: Method;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Answer {
  status: number;
  contentType: string;
  retryAfter: string | undefined;
  text: string;
}

const PRINCIPALS = ['admin', 'operator', 'operator2', 'approver', 'approver2', 'viewer'] as const;

const mediaType = (value: string): string => value.split(';')[0]!.trim().toLowerCase();

function routesOf(document: OpenApiDocument): Route[] {
  const routes: Route[] = [];
  for (const [template, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const declared = (operation['parameters'] as Parameter[] | undefined) ?? [];
      // Path parameters come from the template too: a route that forgets to declare one is still fuzzed.
      const inTemplate = [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
      const parameters = [
        ...declared.filter((parameter) => parameter.in !== 'path'),
        ...inTemplate.map((name): Parameter => ({ name, in: 'path' })),
      ];
      const requestBody = operation['requestBody'] as { content?: Record<string, { schema?: Schema }> } | undefined;
      const responses = (operation['responses'] as Record<string, { content?: Record<string, unknown> }>) ?? {};
      const contentTypes = new Map<number, string[]>();
      for (const [status, response] of Object.entries(responses))
        contentTypes.set(Number(status), Object.keys(response.content ?? {}).map(mediaType));
      routes.push({
        method: method.toUpperCase() as Method,
        template,
        parameters,
        body: requestBody?.content?.['application/json']?.schema,
        contentTypes,
      });
    }
  }
  return routes;
}

/** What the seed made: IDs and digests a request can name so that it gets past the 404s. */
interface Seeded {
  siteIds: string[];
  installationIds: string[];
  operationIds: string[];
  digests: string[];
  positions: string[];
}

const junkStrings = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1.5',
    '1e309',
    'NaN',
    'Infinity',
    'null',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    '%00',
    '%',
    '%E0%A4%A',
    '"1"',
    'W/"1"',
    '*',
    '"99999999999999999999"',
    '2026-02-30T25:61:00Z',
    '9999-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '\u0000',
    '\u202e\u0041',
    '🦄🦄🦄',
    'x'.repeat(65),
    'x'.repeat(5000),
  ),
);

/** Header values: what Node lets a client send (no control characters), junk otherwise. */
const headerJunk = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.constantFrom('', '"1"', '"0"', 'W/"2"', '*', '"abc"', '1', '-1', '99999999999999999999', 'x'.repeat(3000), 'é'),
);

function schemaValue(
  document: OpenApiDocument,
  schema: Schema | undefined,
  seeded: Seeded,
  depth = 0,
  junk = true,
): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.split('/').at(-1)!;
    return schemaValue(document, document.components.schemas[name], seeded, depth + 1, junk);
  }
  const oneOf = schema['oneOf'] as Schema[] | undefined;
  if (oneOf) return fc.oneof(...oneOf.map((option) => schemaValue(document, option, seeded, depth + 1, junk)));
  switch (schema['type']) {
    case 'object': {
      const properties = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
      const required = new Set((schema['required'] as string[] | undefined) ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties))
        record[name] = fieldValue(document, name, property, seeded, depth + 1, junk);
      return fc.record(record, { requiredKeys: Object.keys(properties).filter((name) => required.has(name)) });
    }
    case 'array':
      return fc.array(schemaValue(document, schema['items'] as Schema | undefined, seeded, depth + 1, junk), {
        maxLength: 4,
      });
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number':
      return fc.integer({ min: 0, max: 20 });
    case 'string': {
      if (schema['format'] === 'email') return fc.emailAddress();
      if (schema['format'] === 'date-time')
        return fc
          .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
          .map((date) => date.toISOString());
      const pattern = schema['pattern'];
      if (typeof pattern === 'string') return fc.stringMatching(new RegExp(pattern));
      const example = schema['example'];
      return fc.oneof(
        fc.string({ minLength: 1, maxLength: 30 }),
        ...(typeof example === 'string' ? [fc.constant(example)] : []),
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * A field of a valid-shaped body: a valid value (a known ID where it names
 * one); with `junk`, sometimes junk of any type instead.
 */
function fieldValue(
  document: OpenApiDocument,
  name: string,
  schema: Schema,
  seeded: Seeded,
  depth: number,
  junk: boolean,
): fc.Arbitrary<unknown> {
  const known =
    name === 'siteId' || name === 'siteIds'
      ? seeded.siteIds
      : name === 'installationId'
        ? seeded.installationIds
        : name === 'digest'
          ? seeded.digests
          : [];
  const valid =
    known.length === 0
      ? schemaValue(document, schema, seeded, depth, junk)
      : name === 'siteIds'
        ? fc.oneof(fc.subarray(known, { minLength: 1 }), schemaValue(document, schema, seeded, depth, junk))
        : fc.oneof(fc.constantFrom(...known), schemaValue(document, schema, seeded, depth, junk));
  if (!junk) return valid;
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: junkStrings },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue()) },
  );
}

/** `depth` nested arrays or objects: the body parser and the validator must refuse it cleanly. */
const deeplyNested = fc
  .tuple(fc.integer({ min: 20, max: 3000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
  );

function bodyOf(
  document: OpenApiDocument,
  route: Route,
  seeded: Seeded,
): fc.Arbitrary<{ type?: string; text?: string }> {
  const json = (value: fc.Arbitrary<unknown>) =>
    value.map((body) => ({ type: 'application/json', text: JSON.stringify(body) }));
  return fc.oneof(
    { weight: 6, arbitrary: json(schemaValue(document, route.body, seeded, 0, false)) },
    { weight: 6, arbitrary: json(schemaValue(document, route.body, seeded)) },
    {
      weight: 2,
      arbitrary: json(
        fc
          .tuple(
            schemaValue(document, route.body, seeded),
            fc.dictionary(junkStrings, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
          )
          .map(([body, extra]) => (typeof body === 'object' && body !== null ? { ...extra, ...body } : extra)),
      ),
    },
    { weight: 2, arbitrary: json(fc.jsonValue({ maxDepth: 4 })) },
    { weight: 1, arbitrary: json(fc.constant({ reason: 'x'.repeat(200_000) })) },
    { weight: 1, arbitrary: deeplyNested.map((text) => ({ type: 'application/json', text })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'application/json',
            'application/json; charset=latin1',
            'application/json; charset=utf-16',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'application/merge-patch+json',
            'application/problem+json',
            '',
          ),
          fc.oneof(
            fc.constantFrom(
              '',
              '{',
              '{"reason":',
              'null',
              '"a string"',
              '[1,2',
              '{"a":1}{"b":2}',
              '\u0000',
              'reason=x&paused=true',
              '<a/>',
            ),
            fc.string({ unit: 'binary', maxLength: 60 }),
          ),
        )
        .map(([type, text]) => (type === '' ? { text } : { type, text })),
    },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

function pathValue(name: string, seeded: Seeded): fc.Arbitrary<string> {
  const known =
    name === 'siteId'
      ? seeded.siteIds
      : name === 'installationId'
        ? seeded.installationIds
        : name === 'operationId'
          ? seeded.operationIds
          : [];
  const encoded = junkStrings.filter((value) => value.length > 0).map(encodeURIComponent);
  // Raw, unencoded segments that Node still sends: broken percent-escapes, dots, unicode.
  const raw = fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%2F', '%2e%2e', '%00', 'a%20b', '%C0%AF', '%FF');
  return fc.oneof(
    { weight: known.length > 0 ? 6 : 0, arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant('x') },
    { weight: 3, arbitrary: encoded },
    { weight: 1, arbitrary: raw },
  );
}

function queryValue(parameter: Parameter, seeded: Seeded): fc.Arbitrary<string> {
  const type = parameter.schema?.['type'];
  const sensible = fc.constantFrom(
    ...(type === 'number' ? ['1', '10', '1000', '1001', '0'] : []),
    ...(type === 'boolean' ? ['true', 'false'] : []),
    ...(parameter.name === 'asOf' || parameter.name === 'from' || parameter.name === 'to'
      ? [new Date().toISOString(), '2020-01-01T00:00:00Z', 'now']
      : []),
    ...(parameter.name === 'status' ? ['active', 'deleted', 'paused', 'completed', 'running'] : []),
    ...(parameter.name === 'format' ? ['json', 'ndjson', 'csv'] : []),
    ...(parameter.name === 'frames' ? ['named', 'unnamed'] : []),
    ...(parameter.name === 'type' || parameter.name === 'types'
      ? ['SiteRegistered', 'SiteSoftDeleted,SiteRestored']
      : []),
    ...(parameter.name === 'siteId' ? seeded.siteIds : []),
    ...(parameter.name === 'operationId' ? seeded.operationIds : []),
    ...(parameter.name === 'from' ? seeded.positions : []),
    'x',
  );
  return fc.oneof(sensible, junkStrings);
}

function requestOf(document: OpenApiDocument, routes: Route[], seeded: Seeded): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...routes).chain((route) => {
    const pathParameters = route.parameters.filter((parameter) => parameter.in === 'path');
    const queryParameters = route.parameters.filter((parameter) => parameter.in === 'query');
    const path = fc
      .tuple(...pathParameters.map((parameter) => pathValue(parameter.name, seeded)))
      .map((values) =>
        pathParameters.reduce((path, parameter, i) => path.replace(`{${parameter.name}}`, values[i]!), route.template),
      );
    const query = fc
      .array(
        fc.oneof(
          {
            weight: 5,
            arbitrary: queryParameters.length > 0 ? fc.constantFrom(...queryParameters) : fc.constant(undefined),
          },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        { maxLength: 4 },
      )
      .chain((picked) =>
        fc.tuple(
          ...picked.map((parameter) =>
            parameter === undefined
              ? fc.tuple(fc.constantFrom('junk', 'limit[]', 'a[b]', '__proto__', 'cursor'), junkStrings)
              : fc.tuple(fc.constant(parameter.name), queryValue(parameter, seeded)),
          ),
        ),
      )
      .map((pairs) =>
        pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&'),
      );
    const authorization = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...PRINCIPALS).map((principal) => `Bearer ${TOKENS[principal]}`) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constant('Bearer tl_not_a_token'),
          fc.constant('Bearer'),
          fc.constant('Basic YWRtaW46YWRtaW4='),
          fc.constant(`bearer ${TOKENS.admin}`),
          fc.constant(`Bearer  ${TOKENS.admin}`),
          headerJunk,
        ),
      },
    );
    // Each header in about one request in four, so that many requests get past header checks to the rules.
    const sometimes = (value: fc.Arbitrary<string>) =>
      fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
    const extraHeaders = fc
      .record({
        'If-Match': sometimes(fc.oneof(fc.constantFrom('"1"', '"2"', '"3"'), headerJunk)),
        'Ledger-Min-Position': sometimes(fc.oneof(fc.constantFrom(...seeded.positions), headerJunk)),
        'X-Correlation-Id': sometimes(fc.oneof(fc.constant('OPS-4711'), headerJunk)),
        'Idempotency-Key': sometimes(fc.oneof(fc.uuid(), headerJunk)),
        'Last-Event-ID': sometimes(fc.oneof(fc.constantFrom(...seeded.positions), headerJunk)),
        Accept: sometimes(
          fc.constantFrom('application/json', 'text/csv', 'text/event-stream', '*/*', 'application/xml', 'x'),
        ),
      })
      .map((headers) =>
        Object.fromEntries(
          Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
        ),
      );
    // Mostly the documented method; sometimes another one on the same path (404 or 405, never 5xx).
    const method = fc.oneof(
      { weight: 9, arbitrary: fc.constant(route.method) },
      { weight: 1, arbitrary: fc.constantFrom<Method>('GET', 'POST', 'PUT', 'DELETE', 'PATCH') },
    );
    return fc
      .tuple(method, path, query, authorization, extraHeaders, bodyOf(document, route, seeded))
      .map(([method, path, query, authorization, extra, body]): FuzzRequest => {
        const headers: Record<string, string> = { ...extra };
        if (authorization !== undefined) headers['Authorization'] = authorization;
        const sendsBody = method !== 'GET' && body.text !== undefined;
        if (sendsBody && body.type !== undefined) headers['Content-Type'] = body.type;
        return {
          route,
          method,
          path: query === '' ? path : `${path}?${query}`,
          headers,
          ...(sendsBody ? { body: body.text } : {}),
        };
      });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** Sends one request; an event stream is read up to its headers and then closed. */
function send(base: URL, request: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path,
        headers: {
          ...request.headers,
          ...(request.body === undefined ? {} : { 'Content-Length': Buffer.byteLength(request.body) }),
        },
        agent,
        timeout: 15_000,
      },
      (response) => {
        const contentType = String(response.headers['content-type'] ?? '');
        const answer = (text: string) =>
          resolve({
            status: response.statusCode ?? 0,
            contentType,
            retryAfter: response.headers['retry-after'] as string | undefined,
            text,
          });
        if (mediaType(contentType) === 'text/event-stream') {
          response.destroy();
          answer('');
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => answer(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`no answer within 15 s: ${request.method} ${request.path}`)),
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

describe('fuzzing every route of the OpenAPI document', () => {
  const t = useTestApp({ per: 'suite', env: { LEDGER_CANARY_SITES: '1' } });
  let base: URL;
  let document: OpenApiDocument;
  let seeded: Seeded;

  beforeAll(async () => {
    await t.app.listen(0, '127.0.0.1');
    base = new URL(`http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`);
    document = (await t.http().get('/docs-json').expect(200)).body as OpenApiDocument;
    seeded = await seed();
  }, 60_000);
  afterAll(() => agent.destroy());

  /** A few sites (one on legal hold, one deleted by an operation) and an operation in each resting status. */
  async function seed(): Promise<Seeded> {
    const siteIds = [
      'fz-active',
      'fz-held',
      'fz-suspended',
      'fz-deleted',
      'fz-p1',
      'fz-p2',
      'fz-a1',
      'fz-a2',
      'fz-r1',
      'fz-x1',
      'fz-x2',
    ];
    await registerSites(t, siteIds, { internal: 0 });
    const as = (principal: TestPrincipal) => t.auth(principal);
    await t
      .http()
      .put('/v1/sites/fz-held/legal-hold')
      .set('Authorization', as('admin'))
      .send({ reason: 'litigation', reference: 'LEGAL-1' })
      .expect(200);
    await t
      .http()
      .post('/v1/sites/fz-suspended/suspend')
      .set('Authorization', as('operator'))
      .send({ reason: 'unpaid' })
      .expect(200);
    const execute = async (operation: { operationId: string; digest: string }) => {
      await t
        .http()
        .post(`/v1/operations/${operation.operationId}/execute`)
        .set('Authorization', as('operator'))
        .send({ digest: operation.digest })
        .expect(202);
    };
    const completed = await planDeletion(t, ['fz-deleted']);
    await approve(t, completed).expect(200);
    await execute(completed);
    await waitForStatus(t, completed.operationId, 'completed');
    const paused = await planDeletion(t, ['fz-p1', 'fz-p2']);
    await approve(t, paused).expect(200);
    await execute(paused);
    await waitForStatus(t, paused.operationId, 'paused');
    const aborted = await planDeletion(t, ['fz-a1', 'fz-a2']);
    await approve(t, aborted).expect(200);
    await execute(aborted);
    await waitForStatus(t, aborted.operationId, 'paused');
    await t
      .http()
      .post(`/v1/operations/${aborted.operationId}/abort`)
      .set('Authorization', as('operator'))
      .send({ reason: 'stop' })
      .expect(200);
    const rolledBack = await planDeletion(t, ['fz-r1']);
    await approve(t, rolledBack).expect(200);
    await execute(rolledBack);
    await waitForStatus(t, rolledBack.operationId, 'completed');
    await t
      .http()
      .post(`/v1/operations/${rolledBack.operationId}/rollback`)
      .set('Authorization', as('operator'))
      .send({ reason: 'undo' })
      .expect(200);
    const approved = await planDeletion(t, ['fz-x1']);
    await approve(t, approved).expect(200);
    const planned = await planDeletion(t, ['fz-x2']);
    const rejected = await t
      .http()
      .post('/v1/operations')
      .set('Authorization', as('operator'))
      .send({ action: 'soft-delete', siteIds: ['fz-none'], reason: 'no such site' })
      .expect(422);
    const operations = [completed, paused, aborted, rolledBack, approved, planned];
    const statuses = await Promise.all(
      operations.map(
        async (operation) =>
          (
            await waitForAny(t, operation.operationId, [
              'completed',
              'paused',
              'aborted',
              'rolled-back',
              'approved',
              'planned',
            ])
          ).status,
      ),
    );
    expect(statuses).toEqual(['completed', 'paused', 'aborted', 'rolled-back', 'approved', 'planned']);
    const events = await t.allEvents();
    return {
      siteIds: [...siteIds, 'fz-none'],
      installationIds: siteIds.map((siteId) => `app-${siteId}-0`),
      operationIds: [...operations.map((operation) => operation.operationId), rejected.body.operationId as string],
      digests: operations.map((operation) => operation.digest),
      positions: ['0', events[0]!.position, events.at(-1)!.position],
    };
  }

  /** Waits until no operation is running: a wave started by a fuzzed execute or continue has ended. */
  async function settled(): Promise<void> {
    await pollUntil(
      async () => {
        const response = await t
          .http()
          .get('/v1/operations?status=running&limit=200')
          .set('Authorization', t.auth('viewer'));
        return (response.body.operations as unknown[] | undefined)?.length ?? -1;
      },
      { what: 'no operation to be running', done: (running) => running === 0, timeoutMs: 20_000, intervalMs: 10 },
    );
  }

  it('a few thousand requests: no server error, documented content types, and no refused request records anything', async () => {
    const routes = routesOf(document);
    expect(routes.length).toBeGreaterThan(25);
    const byClass = new Map<string, number>();
    const byStatus = new Map<number, number>();
    const routesHit = new Set<string>();
    let recorded = 0;
    await fc.assert(
      fc.asyncProperty(requestOf(document, routes, seeded), async (request) => {
        const before = await t.store.lastPosition();
        const answer = await send(base, request);
        const after = await t.store.lastPosition();
        const klass = `${Math.floor(answer.status / 100)}xx`;
        byClass.set(klass, (byClass.get(klass) ?? 0) + 1);
        byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
        routesHit.add(`${request.route.method} ${request.route.template}`);
        const shown = `${request.method} ${request.path} → ${answer.status} ${answer.contentType} ${answer.text.slice(0, 300)}`;

        expect(answer.status >= 500 && !(answer.status === 503 && answer.retryAfter), `server error: ${shown}`).toBe(
          false,
        );
        const type = mediaType(answer.contentType);
        if (answer.status >= 400) {
          expect(type, `an error that is not problem+json: ${shown}`).toBe('application/problem+json');
          const problem = JSON.parse(answer.text) as { status?: unknown; code?: unknown };
          expect(problem.status, shown).toBe(answer.status);
          expect(typeof problem.code, shown).toBe('string');
        } else if (request.method === request.route.method) {
          const documented = request.route.contentTypes.get(answer.status) ?? [];
          const allowed = documented.length > 0 ? documented : ['application/json'];
          if (request.method !== 'GET' || answer.text !== '')
            expect(allowed, `an undocumented content type: ${shown}`).toContain(type);
          if (type === 'application/json') JSON.parse(answer.text);
        }

        if (answer.status >= 400 && before !== after) {
          // The one refusal that is recorded on purpose: a rejected plan (README "Deleting sites safely").
          const written = await t.store.readAll({ ...(before === undefined ? {} : { after: before }), limit: 10 });
          expect(
            request.method === 'POST' &&
              request.route.template === '/v1/operations' &&
              answer.status === 422 &&
              written.length === 1 &&
              written[0]!.type === 'OperationRejected',
            `a refused request changed the ledger: ${shown}; wrote ${written.map((event) => event.type).join(', ')}`,
          ).toBe(true);
        }
        if (request.method === 'GET') expect(after, `a read changed the ledger: ${shown}`).toBe(before);
        if (answer.status < 300 && before !== after) {
          recorded += 1;
          await settled();
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const counts = [...byClass.entries()]
      .sort()
      .map(([klass, count]) => `${klass} ${count}`)
      .join(', ');
    const statuses = [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
    console.log(
      `fuzz: seed ${SEED}, ${RUNS} requests over ${routesHit.size}/${routes.length} routes: ${counts} (${statuses}); ` +
        `${recorded} accepted requests recorded events, 0 server errors, no refused request recorded anything`,
    );
    expect(routesHit.size).toBe(routes.length);
  }, 240_000);
});
