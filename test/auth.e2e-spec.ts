import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/ledger-config.js';
import { configureApp } from '../src/configure-app.js';
import { makeDataDir, TOKENS, useTestApp } from './support/test-app.js';

describe('authentication and roles', () => {
  const t = useTestApp({ per: 'suite' });
  beforeAll(async () => {
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: 's1', customerId: 'c1', name: 'n' })
      .expect(201);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an unknown token', 'Bearer tl_not_a_token'],
    ['a token one character off', `Bearer ${TOKENS.admin.slice(0, -1)}x`],
    ['a Basic header', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
    ['Bearer without a token', 'Bearer '],
  ])('%s → 401 problem with WWW-Authenticate', async (_name, header) => {
    const call = t.http().get('/v1/sites/s1');
    const response = await (header === undefined ? call : call.set('Authorization', header)).expect(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(response.body).toMatchObject({ status: 401, code: 'auth.unauthenticated' });
  });

  it('401 on commands changes nothing', async () => {
    const before = (await t.allEvents()).length;
    await t.http().post('/v1/sites/s1/suspend').send({ reason: 'x' }).expect(401);
    expect((await t.allEvents()).length).toBe(before);
  });

  it('a viewer can read but not change (403 names the role)', async () => {
    await t.http().get('/v1/sites/s1').set('Authorization', t.auth('viewer')).expect(200);
    const response = await t
      .http()
      .post('/v1/sites/s1/suspend')
      .set('Authorization', t.auth('viewer'))
      .send({ reason: 'x' })
      .expect(403);
    expect(response.body.code).toBe('auth.forbidden');
    expect(response.body.detail).toContain('operator');
  });

  it('an approver cannot register sites', async () => {
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('approver'))
      .send({ siteId: 's2', customerId: 'c1', name: 'n' })
      .expect(403);
  });

  it('admin holds every role', async () => {
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('admin'))
      .send({ siteId: 's3', customerId: 'c1', name: 'n' })
      .expect(201);
  });

  it('the actor is always the authenticated principal', async () => {
    await t
      .http()
      .post('/v1/sites/s1/suspend')
      .set('Authorization', t.auth('operator2'))
      .send({ reason: 'x' })
      .expect(200);
    const last = (await t.allEvents()).at(-1)!;
    expect(last.metadata.actor).toBe('operator2');
  });

  it('/health needs no token and names the store', async () => {
    const response = await t.http().get('/health').expect(200);
    expect(response.body).toEqual({
      status: 'ok',
      store: t.config.store,
      readModels: expect.stringMatching(/^(live|catching-up)$/),
      readModelLag: expect.any(Number),
    });
    await t.http().get('/health/live').expect(200);
    expect([200, 503]).toContain((await t.http().get('/health/ready')).status);
  });

  it('OpenAPI document at /docs-json, interactive docs at /docs, both without a token', async () => {
    const json = await t.http().get('/docs-json').expect(200);
    expect(json.body.openapi).toMatch(/^3\./);
    expect(Object.keys(json.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/sites',
        '/v1/sites/{siteId}',
        '/v1/sites/{siteId}/history',
        '/v1/sites/{siteId}/legal-hold',
        '/v1/sites/{siteId}/restore',
        '/v1/sites/{siteId}/revert',
        '/v1/operations',
        '/v1/operations/{operationId}',
        '/v1/operations/{operationId}/approve',
        '/v1/operations/{operationId}/execute',
        '/v1/operations/{operationId}/continue',
        '/v1/operations/{operationId}/abort',
        '/v1/operations/{operationId}/rollback',
        '/v1/policy/purge',
        '/health',
      ]),
    );
    expect(json.body.components.schemas.OperationResponse.properties).toHaveProperty('waves');
    expect(
      json.body.paths['/v1/operations/{operationId}/rollback'].post.responses['200'].content['application/json'].schema,
    ).toEqual({
      $ref: '#/components/schemas/RollbackResponse',
    });
    expect(json.body.components.schemas.RegisterSiteDto.required).toEqual(
      expect.arrayContaining(['siteId', 'customerId', 'name']),
    );
    expect(json.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const html = await t.http().get('/docs').redirects(1).expect(200);
    expect(html.text).toContain('swagger');
  });
});

describe('first start without a token file', () => {
  it('generates one token per principal, stores only hashes, prints the tokens once', async () => {
    const dataDir = makeDataDir();
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
    const boot = async () => {
      const config = loadConfig({ LEDGER_DATA_DIR: dataDir });
      const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
      const app = configureApp(moduleRef.createNestApplication({ logger: false }));
      await app.init();
      return app;
    };
    try {
      const app = await boot();
      const tokensFile = join(dataDir, 'tokens.json');
      const initial = join(dataDir, 'initial-tokens.txt');
      expect(existsSync(tokensFile)).toBe(true);
      expect(statSync(initial).mode & 0o777).toBe(0o600);
      const output = printed.join('\n');
      const adminToken = /admin\s*[:=]?\s*(tl_[A-Za-z0-9_-]+)/.exec(output)?.[1];
      expect(adminToken).toBeDefined();
      expect(readFileSync(tokensFile, 'utf8')).not.toContain(adminToken!);
      await request(app.getHttpServer())
        .post('/v1/sites')
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ siteId: 's1', customerId: 'c', name: 'n' })
        .expect(201);
      await app.close();

      printed.length = 0;
      const again = await boot();
      expect(printed.join('\n')).not.toContain('tl_');
      await again.close();
    } finally {
      log.mockRestore();
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
