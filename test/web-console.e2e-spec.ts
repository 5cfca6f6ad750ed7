import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../src/web-console/web-console.headers.js';
import { useTestApp } from './support/test-app.js';

/**
 * /console as the service serves it, without a browser (test/console.e2e-spec.ts
 * drives the real console in Chromium): the answer where it was not built, the
 * files and their headers where it was, and the API around it unchanged. Every
 * answer here also passes the OpenAPI conformance check of the test app.
 */
describe('/console where the console was not built (an app run from src/)', () => {
  const t = useTestApp({ per: 'suite' });

  it.each(['/console', '/console/', '/console/assets/index.js'])(
    'GET %s answers 404 console.not-built, saying how to build it, under the CSP',
    async (path) => {
      const response = await t.http().get(path).expect(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(JSON.parse(response.text)).toMatchObject({
        status: 404,
        code: 'console.not-built',
        detail: expect.stringContaining('npm run build'),
        instance: path,
      });
    },
  );

  it('the service still starts and serves its API, probes and docs', async () => {
    await t.http().get('/health/live').expect(200);
    await t.http().get('/v1/stats').set('Authorization', t.auth('viewer')).expect(200);
    await t.http().get('/v1/stats').expect(401);
    const document = (await t.http().get('/docs-json').expect(200)).body as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths).filter((path) => path.includes('console'))).toEqual([]);
  });
});

describe('/console where the console was built', () => {
  const built = mkdtempSync(join(tmpdir(), 'tenant-ledger-console-'));
  mkdirSync(join(built, 'assets'));
  writeFileSync(
    join(built, 'index.html'),
    '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>',
  );
  writeFileSync(join(built, 'assets', 'index-abc123.js'), 'document.title = "console";\n');
  afterAll(() => rmSync(built, { recursive: true, force: true }));
  const t = useTestApp({ per: 'suite', consoleDirectory: built });

  it('GET /console redirects to /console/, which is the page, with the CSP and no caching', async () => {
    const redirect = await t.http().get('/console').expect(301);
    expect(redirect.headers['location']).toBe('/console/');
    const page = await t.http().get('/console/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('/console/assets/index-abc123.js');
    expect(page.headers).toMatchObject({
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
  });

  it('serves the files its page names, cached for good (their names change with their content)', async () => {
    const script = await t.http().get('/console/assets/index-abc123.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it.each([
    ['GET', '/console/assets/missing.js'],
    ['GET', '/console/operations'],
    ['POST', '/console/'],
  ])('%s %s is a 404 route.not-found, as any path no route serves', async (method, path) => {
    const response = await (method === 'GET' ? t.http().get(path) : t.http().post(path).send({})).expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'route.not-found', instance: path });
  });

  it('leaves the API as it was: tokens, errors, the OpenAPI document', async () => {
    await t.http().get('/v1/stats').set('Authorization', t.auth('viewer')).expect(200);
    const refused = await t.http().get('/v1/stats').expect(401);
    expect(refused.headers['content-security-policy']).toBeUndefined();
    await t.http().get('/v1/nope').set('Authorization', t.auth('viewer')).expect(404);
    const document = (await t.http().get('/docs-json').expect(200)).body as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths).filter((path) => path.includes('console'))).toEqual([]);
  });
});
