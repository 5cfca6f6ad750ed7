import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTestApp } from './support/test-app.js';

/** What `redocly lint --format=json` reports, as far as this spec reads it. */
interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
}

/** Lints a document with redocly.yaml at the repository root: Redocly's recommended rules, two of them replaced below. */
async function lint(document: unknown): Promise<LintReport> {
  const dir = mkdtempSync(join(tmpdir(), 'tenant-ledger-openapi-'));
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  try {
    const args = ['lint', '--config=redocly.yaml', '--format=json', file];
    // redocly exits 1 when it finds errors; its report is on stdout either way.
    const stdout = await promisify(execFile)('node_modules/.bin/redocly', args, { timeout: 60_000 }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string }) => error.stdout ?? '',
    );
    return JSON.parse(stdout) as LintReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the OpenAPI document (/docs-json)', () => {
  const t = useTestApp({ per: 'suite' });

  it('passes Redocly’s recommended rules with no error and no warning', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const report = await lint(document);
    const problems = report.problems.map(
      ({ severity, ruleId, message, location }) => `${severity} ${ruleId} at ${location[0]?.pointer}: ${message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('declares a 2XX on every operation but the refusal, and 401 and 403 on every one behind a token', async () => {
    // What redocly.yaml's operation-2xx-response: off leaves to this spec.
    const document = (await t.http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    const wrong: string[] = [];
    for (const [path, item] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(item)) {
        const statuses = Object.keys(operation.responses);
        // The site DELETE only ever refuses: 405, or a request refused before any route decides (400, 413, 415).
        const refusal = statuses.includes('405') && statuses.every((status) => /^4/.test(status));
        if (!refusal && !statuses.some((status) => status.startsWith('2'))) wrong.push(`${method} ${path}: no 2XX`);
        const public_ = operation.security !== undefined && operation.security.length === 0;
        if (!public_ && !(statuses.includes('401') && statuses.includes('403')))
          wrong.push(`${method} ${path}: behind a token without 401 and 403`);
      }
    expect(wrong).toEqual([]);
  });

  it('declares every error answer as application/problem+json (health reports aside)', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
    };
    const wrong: string[] = [];
    for (const [path, item] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(item))
        for (const [status, response] of Object.entries(operation.responses))
          // A 503 of /health is its report ({status: "unavailable", …}), not an error of the request.
          if (
            Number(status) >= 400 &&
            !path.startsWith('/health') &&
            Object.keys(response.content ?? {}).join() !== 'application/problem+json'
          )
            wrong.push(
              `${method.toUpperCase()} ${path} ${status}: ${Object.keys(response.content ?? {}).join() || 'no body'}`,
            );
    expect(wrong).toEqual([]);
  });
});

describe('unknown routes', () => {
  const t = useTestApp({ per: 'suite' });

  it.each([
    ['GET', '/nope'],
    ['POST', '/nope'],
    ['GET', '/v1/nope'],
    ['POST', '/v1/nope'],
    ['GET', '/v1/sites/site-1/nope'],
    ['GET', '/health/nope'],
    ['POST', '/health'],
    ['GET', '/docs/nope'],
    ['POST', '/docs-json'],
  ])('%s %s answers 404 application/problem+json', async (method, path) => {
    const call = method === 'GET' ? t.http().get(path) : t.http().post(path).send({});
    const response = await call.set('Authorization', t.auth('viewer')).expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(response.text)).toEqual({
      type: 'urn:problem:tenant-ledger:route.not-found',
      title: 'Not Found',
      status: 404,
      detail: `Cannot ${method} ${path}`,
      code: 'route.not-found',
      instance: path,
    });
  });

  it('answers 404 problem+json without a token too: an unknown path is not an authentication question', async () => {
    const response = await t.http().get('/v1/nope').expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'route.not-found' });
  });
});
