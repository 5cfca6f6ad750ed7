import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { callService, exitOf, runToExit, SERVICE, startService } from './support/service-process.js';
import { makeDataDir, TOKENS, writeTestTokens } from './support/test-app.js';

describe('the service process', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('dist/main.js exists (npm test builds first)', () => {
    expect(existsSync(SERVICE)).toBe(true);
  });

  it('a write answered 201 survives kill -9 of the process', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_TOKENS_FILE: writeTestTokens(dataDir) };
    const first = await startService(env);
    children.push(first.child);
    const headers = { Authorization: `Bearer ${TOKENS.operator}`, 'Content-Type': 'application/json' };
    const created = await fetch(`${first.base}/v1/sites`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        siteId: 'crash-1',
        customerId: 'c',
        name: 'n',
        contacts: [{ name: 'A', email: 'a@example.com', role: 'owner' }],
      }),
    });
    expect(created.status).toBe(201);
    first.child.kill('SIGKILL');
    expect(await exitOf(first.child)).toBeNull();

    const second = await startService(env);
    children.push(second.child);
    const read = await fetch(`${second.base}/v1/sites/crash-1`, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ siteId: 'crash-1', version: 1, contacts: [{ email: 'a@example.com' }] });
  });

  it('kill -9 right after execute: the operation resumes on restart and no site is deleted twice', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_TOKENS_FILE: writeTestTokens(dataDir) };
    const call = callService;
    const first = await startService(env);
    children.push(first.child);
    const ids = Array.from({ length: 40 }, (_, i) => `k-${i}`);
    for (const siteId of ids) {
      expect(
        (await call(first.base, 'operator', 'POST', '/v1/sites', { siteId, customerId: `c-${siteId}`, name: siteId }))
          .status,
      ).toBe(201);
    }
    const planned = await call(first.base, 'operator', 'POST', '/v1/operations', {
      action: 'soft-delete',
      siteIds: ids,
      reason: 'crash test',
    });
    expect(planned.status).toBe(201);
    const { operationId, digest } = planned.body as { operationId: string; digest: string };
    expect(
      (await call(first.base, 'approver', 'POST', `/v1/operations/${operationId}/approve`, { digest })).status,
    ).toBe(200);
    expect(
      (await call(first.base, 'approver2', 'POST', `/v1/operations/${operationId}/approve`, { digest })).status,
    ).toBe(200);
    expect(
      (await call(first.base, 'operator', 'POST', `/v1/operations/${operationId}/execute`, { digest })).status,
    ).toBe(202);
    first.child.kill('SIGKILL');
    await exitOf(first.child);

    const second = await startService(env);
    children.push(second.child);
    await pollUntil(
      async () => {
        const { body } = await call(second.base, 'viewer', 'GET', `/v1/operations/${operationId}`);
        if (body['status'] === 'paused') {
          expect(
            (await call(second.base, 'operator', 'POST', `/v1/operations/${operationId}/continue`, {})).status,
          ).toBe(202);
        }
        return body['status'];
      },
      {
        what: `operation ${operationId} to complete after the restart`,
        done: (status) => status === 'completed',
        timeoutMs: 20_000,
        intervalMs: 25,
      },
    );
    for (const siteId of ids) {
      const { body } = await call(second.base, 'viewer', 'GET', `/v1/sites/${siteId}/history`);
      const types = (body['events'] as { type: string }[]).map((event) => event.type);
      expect(types).toEqual(['SiteRegistered', 'SiteSoftDeleted']);
    }
  }, 60_000);

  it('an invalid setting stops the start with a message naming the variable', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const { code, output } = await runToExit(SERVICE, {
      LEDGER_DATA_DIR: dataDir,
      LEDGER_CANARY_SITES: '0',
      LEDGER_STORE: 'oracle',
    });
    expect(code).toBe(1);
    expect(output).toContain('LEDGER_CANARY_SITES');
    expect(output).toContain('LEDGER_STORE');
  });

  describe('refuses to start with one sentence and exit code 1, without a stack trace', () => {
    const refusal = async (env: Record<string, string>) => {
      const { code, output } = await runToExit(SERVICE, env);
      expect(code).toBe(1);
      expect(output).toMatch(/^tenant-ledger cannot start: /);
      expect(output.trim().split('\n')).toHaveLength(1);
      expect(output).not.toMatch(/\n\s+at /); // no stack
      return output;
    };

    it('when its port is in use', async () => {
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const port = (busy.address() as AddressInfo).port;
      const dataDir = makeDataDir();
      dirs.push(dataDir);
      try {
        const output = await refusal({ LEDGER_DATA_DIR: dataDir, PORT: String(port) });
        expect(output).toContain(`127.0.0.1:${port} is in use by another process (EADDRINUSE); set PORT or HOST`);
      } finally {
        busy.close();
      }
    });

    it('when its data folder cannot be written', async () => {
      const parent = makeDataDir();
      dirs.push(parent);
      const file = join(parent, 'a-file');
      writeFileSync(file, 'not a folder');
      const output = await refusal({ LEDGER_DATA_DIR: join(file, 'data') });
      expect(output).toContain(`the data folder ${join(file, 'data')} cannot be written (ENOTDIR)`);
    });

    it('when its token file is malformed', async () => {
      const dataDir = makeDataDir();
      dirs.push(dataDir);
      const tokensFile = join(dataDir, 'tokens.json');
      writeFileSync(tokensFile, '[{"principal": "admin",');
      const output = await refusal({ LEDGER_DATA_DIR: dataDir, LEDGER_TOKENS_FILE: tokensFile });
      expect(output).toContain(`invalid token file ${tokensFile}: is not valid JSON`);
    });
  });
});
