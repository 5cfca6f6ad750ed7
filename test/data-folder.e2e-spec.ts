import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataFolderLockedError } from '../src/data-folder/data-folder-lock.js';
import { callService, exitOf, freePort, REBUILD, runToExit, SERVICE, startService } from './support/service-process.js';
import { makeDataDir, startTestApp, type TestApp, writeTestTokens } from './support/test-app.js';

/** SPEC §9: with SQLite, one process per data folder, enforced. */
describe('one process per data folder', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const apps: TestApp[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exitOf(child);
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const folder = () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    return { LEDGER_DATA_DIR: dataDir, LEDGER_TOKENS_FILE: writeTestTokens(dataDir) };
  };
  const start = async (env: Record<string, string>) => {
    const service = await startService(env);
    children.push(service.child);
    return service;
  };
  const call = (base: string, method: string, path: string, body?: unknown) =>
    callService(base, 'operator', method, path, body);
  const register = (base: string, siteId: string) =>
    call(base, 'POST', '/v1/sites', { siteId, customerId: 'c', name: siteId });
  /** Site IDs as the read models list them (`GET /v1/sites` reads read-model.db). */
  const listed = async (base: string) => {
    const { status, body } = await call(base, 'GET', '/v1/sites');
    expect(status).toBe(200);
    return (body['sites'] as { siteId: string }[]).map((site) => site.siteId).sort();
  };
  /** The refusal of SPEC §9: names the folder, the holder and what to do, without a stack trace. */
  const expectRefusal = (output: string, dataDir: string, holder: ChildProcess) => {
    expect(output).toContain(
      `the data folder ${dataDir} is in use by another tenant-ledger process (pid ${holder.pid}`,
    );
    expect(output).toContain('Stop that process first, or give this one its own LEDGER_DATA_DIR.');
    expect(output).not.toMatch(/^\s+at /m);
  };

  it('a second service on the folder exits 1 naming the holder while the first serves on; after kill -9 of the first, a new one starts', async () => {
    const env = folder();
    const first = await start(env);
    expect((await register(first.base, 'before')).status).toBe(201);

    // Its own port: the folder refuses it, not a port in use.
    const second = await runToExit(SERVICE, { ...env, PORT: String(await freePort()) });
    expect(second.code).toBe(1);
    expectRefusal(second.output, env.LEDGER_DATA_DIR, first.child);

    expect((await register(first.base, 'after')).status).toBe(201);
    expect(await listed(first.base)).toEqual(['after', 'before']);

    first.child.kill('SIGKILL');
    await exitOf(first.child);
    const third = await start(env);
    expect((await register(third.base, 'third')).status).toBe(201);
    expect(await listed(third.base)).toEqual(['after', 'before', 'third']);
  });

  it('npm run projections:rebuild under a live service exits 1 and leaves its read model alone', async () => {
    const env = folder();
    const service = await start(env);
    expect((await register(service.base, 'before')).status).toBe(201);
    const readModel = join(env.LEDGER_DATA_DIR, 'read-models', 'fleet.db');
    const inode = statSync(readModel).ino;

    const rebuild = await runToExit(REBUILD, env);
    expect(rebuild.code).toBe(1);
    expectRefusal(rebuild.output, env.LEDGER_DATA_DIR, service.child);
    expect(rebuild.output).not.toMatch(/rebuilt the read models/);

    // The same file (one of the read-model files), still fed by the service: nothing was built beside it or swapped in.
    expect(existsSync(`${readModel}.rebuild`)).toBe(false);
    expect(statSync(readModel).ino).toBe(inode);
    expect((await register(service.base, 'after')).status).toBe(201);
    expect(await listed(service.base)).toEqual(['after', 'before']);
  });

  it('an app in this process holds the folder until it closes (tests restart apps on their data)', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const first = await startTestApp({ dataDir });
    apps.push(first);
    await expect(startTestApp({ dataDir })).rejects.toBeInstanceOf(DataFolderLockedError);
    const rebuild = await runToExit(REBUILD, { LEDGER_DATA_DIR: dataDir });
    expect(rebuild.code).toBe(1);
    expect(rebuild.output).toContain(`(pid ${process.pid}`);

    await first.close();
    apps.splice(0);
    apps.push(await startTestApp({ dataDir }));
  });
});
