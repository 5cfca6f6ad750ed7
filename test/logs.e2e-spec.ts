import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { exitOf, startService, type RunningService } from './support/service-process.js';
import { makeDataDir } from './support/test-app.js';

/**
 * The service as it is served (dist/main.js, no log settings, stdout a
 * pipe): its whole output is JSON lines, each command and each wave,
 * rollback, purge and purge freeze has its line, and nothing it printed or
 * served on /metrics holds a token or a contact.
 */
type Principal = 'admin' | 'operator' | 'approver' | 'viewer';
type Line = Record<string, unknown>;

const CONTACT = { name: 'Kim Lee', email: 'kim.lee@example.com', role: 'owner' };

describe('logs and metrics of the running service', () => {
  const dataDir = makeDataDir();
  let service: RunningService;
  let tokens: Record<Principal, string>;
  let lines: Line[];
  let raw: string;
  let metricsText: string;
  let unauthenticatedMetrics: number;
  let operationId: string;

  async function call(
    who: Principal | undefined,
    method: string,
    path: string,
    body?: unknown,
    correlationId?: string,
  ): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
    const response = await fetch(`${service.base}${path}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(who === undefined ? {} : { Authorization: `Bearer ${tokens[who]}` }),
        ...(correlationId === undefined ? {} : { 'X-Correlation-Id': correlationId }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {};
    return { status: response.status, body: json as Record<string, unknown>, text };
  }

  async function register(siteId: string, retention: string): Promise<void> {
    const body = { siteId, customerId: `c-${siteId}`, name: `Shop ${siteId}`, contacts: [CONTACT], retention };
    expect((await call('operator', 'POST', '/v1/sites', body, `obs-register-${siteId}`)).status).toBe(201);
  }

  /** Plans, approves and runs a deletion of `siteIds` through every wave; returns its id. */
  async function deleteThroughWaves(siteIds: string[], correlationId: string): Promise<string> {
    const plan = { action: 'soft-delete', siteIds, reason: 'churned', ticket: 'OPS-11' };
    const planned = await call('operator', 'POST', '/v1/operations', plan, correlationId);
    expect(planned.status, planned.text).toBe(201);
    const { operationId: id, digest } = planned.body as { operationId: string; digest: string };
    expect((await call('approver', 'POST', `/v1/operations/${id}/approve`, { digest }, correlationId)).status).toBe(
      200,
    );
    expect((await call('operator', 'POST', `/v1/operations/${id}/execute`, { digest }, correlationId)).status).toBe(
      202,
    );
    for (;;) {
      const state = await pollUntil(async () => (await call('viewer', 'GET', `/v1/operations/${id}`)).body, {
        what: `operation ${id} to pause or complete`,
        done: (operation) => operation['status'] === 'paused' || operation['status'] === 'completed',
        show: (operation) => String(operation['status']),
        timeoutMs: 20_000,
      });
      if (state['status'] === 'completed') return id;
      expect((await call('operator', 'POST', `/v1/operations/${id}/continue`, {}, correlationId)).status).toBe(202);
    }
  }

  beforeAll(async () => {
    // Short retention for the one site the sweeper is to purge; the others keep theirs.
    service = await startService({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_MIN_RETENTION: 'PT1S',
      LEDGER_PURGE_INTERVAL: 'PT1S',
    });
    const listing = readFileSync(join(dataDir, 'initial-tokens.txt'), 'utf8');
    tokens = Object.fromEntries(
      [...listing.matchAll(/^(admin|operator|approver|viewer)\s+(\S+)/gm)].map((match) => [match[1], match[2]]),
    ) as Record<Principal, string>;
    expect(Object.keys(tokens).sort()).toEqual(['admin', 'approver', 'operator', 'viewer']);

    for (const siteId of ['obs-1', 'obs-2', 'obs-3']) await register(siteId, 'P30D');
    await register('obs-purge', 'PT1S');
    expect(
      (await call('operator', 'POST', '/v1/sites/obs-1/suspend', { reason: 'unpaid' }, 'obs-suspend')).status,
    ).toBe(200);
    const refused = await call('operator', 'POST', '/v1/sites/obs-2/reactivate', { reason: 'x' }, 'obs-refused');
    expect(refused.status).toBe(409);

    operationId = await deleteThroughWaves(['obs-1', 'obs-2', 'obs-3'], 'obs-operation');
    const rollback = await call(
      'operator',
      'POST',
      `/v1/operations/${operationId}/rollback`,
      { reason: 'INC-7' },
      'obs-rollback',
    );
    expect(rollback.status, rollback.text).toBe(200);
    expect(rollback.body['restored']).toHaveLength(3);

    await deleteThroughWaves(['obs-purge'], 'obs-purge-operation');
    await pollUntil(async () => (await call('viewer', 'GET', '/v1/sites/obs-purge')).body['status'], {
      what: 'the retention sweeper to purge obs-purge',
      done: (status) => status === 'purged',
      timeoutMs: 20_000,
    });
    const freeze = { paused: true, reason: 'INC-7: investigating deletions' };
    expect((await call('admin', 'PUT', '/v1/policy/purge', freeze, 'obs-freeze')).status).toBe(200);

    unauthenticatedMetrics = (await call(undefined, 'GET', '/metrics')).status;
    const scraped = await call('viewer', 'GET', '/metrics');
    expect(scraped.status).toBe(200);
    metricsText = scraped.text;

    service.child.kill('SIGTERM');
    await exitOf(service.child);
    raw = service.output();
    lines = raw
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Line;
        } catch {
          throw new Error(`not a JSON line: ${line}`);
        }
      });
  }, 120_000);

  afterAll(() => {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const find = (fields: Line) =>
    lines.filter((line) => Object.entries(fields).every(([key, value]) => line[key] === value));

  it('writes every line as one JSON object with a level, a time and a message', () => {
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
    }
  });

  it('logs each command with its type, actor, stream, version, outcome and correlation id', () => {
    expect(find({ command: 'RegisterSite', correlationId: 'obs-register-obs-1' })).toEqual([
      expect.objectContaining({ level: 'info', actor: 'operator', stream: 'site-obs-1', version: 1, outcome: 'ok' }),
    ]);
    expect(find({ command: 'SuspendSite', correlationId: 'obs-suspend' })).toEqual([
      expect.objectContaining({ actor: 'operator', stream: 'site-obs-1', version: 2, outcome: 'ok' }),
    ]);
    for (const command of ['PlanOperation', 'ApproveOperation', 'ExecuteOperation']) {
      expect(find({ command, correlationId: 'obs-operation', outcome: 'ok' }), command).toHaveLength(1);
    }
    expect(find({ command: 'ApproveOperation', correlationId: 'obs-operation' })[0]).toMatchObject({
      actor: 'approver',
      stream: `operation-${operationId}`,
    });
    expect(find({ command: 'SetPurgePaused', correlationId: 'obs-freeze' })[0]).toMatchObject({
      actor: 'admin',
      outcome: 'ok',
    });
  });

  it('logs a refused request at info with its problem code, beside the refused command', () => {
    expect(find({ command: 'ReactivateSite', correlationId: 'obs-refused' })).toEqual([
      expect.objectContaining({ level: 'info', outcome: 'refused', code: 'site.not-suspended' }),
    ]);
    expect(find({ msg: 'request refused', correlationId: 'obs-refused' })).toEqual([
      expect.objectContaining({
        level: 'info',
        method: 'POST',
        route: '/v1/sites/:siteId/reactivate',
        path: '/v1/sites/obs-2/reactivate',
        status: 409,
        code: 'site.not-suspended',
      }),
    ]);
  });

  it('logs each wave, the rollback, the purge and the purge freeze', () => {
    const waves = find({ context: 'WaveExecutor', operationId });
    expect(waves.length).toBeGreaterThanOrEqual(1);
    expect(waves.reduce((sum, wave) => sum + Number(wave['deleted']), 0)).toBe(3);
    expect(waves[0]).toMatchObject({ wave: 1, skipped: 0, correlationId: operationId, durationMs: expect.any(Number) });
    expect(find({ command: 'CompleteWave', correlationId: operationId })[0]).toMatchObject({
      actor: 'operator',
      outcome: 'ok',
    });
    expect(find({ context: 'Rollback', operationId })).toEqual([
      expect.objectContaining({ restored: 3, skipped: 0, actor: 'operator', correlationId: 'obs-rollback' }),
    ]);
    expect(find({ context: 'RetentionSweeper', siteId: 'obs-purge' })).toHaveLength(1);
    expect(
      find({ command: 'PurgeSite', actor: 'system:retention', stream: 'site-obs-purge', outcome: 'ok' }),
    ).toHaveLength(1);
    expect(find({ context: 'PurgePolicy', paused: true })).toEqual([
      expect.objectContaining({
        actor: 'admin',
        reason: 'INC-7: investigating deletions',
        correlationId: 'obs-freeze',
      }),
    ]);
  });

  it('serves /metrics to a token only, with the figures of what happened', () => {
    expect(unauthenticatedMetrics).toBe(401);
    expect(metricsText).toContain('tenant_ledger_commands_total{type="RegisterSite",outcome="ok"} 4');
    expect(metricsText).toContain('tenant_ledger_commands_total{type="ReactivateSite",outcome="refused"} 1');
    expect(metricsText).toContain('tenant_ledger_sites_deleted_total 4');
    expect(metricsText).toContain('tenant_ledger_sites_restored_total 3');
    expect(metricsText).toContain('tenant_ledger_purges_total 1');
  });

  it('never prints or serves a token, a contact or a header', () => {
    expect(Object.values(tokens)).toHaveLength(4);
    for (const text of [raw, metricsText]) {
      for (const token of Object.values(tokens)) expect(text).not.toContain(token);
      expect(text).not.toContain(CONTACT.email);
      expect(text).not.toContain(CONTACT.name);
      expect(text.toLowerCase()).not.toContain('authorization');
    }
  });
});
