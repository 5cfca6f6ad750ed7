import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProjectionRunner } from '../src/read-models/projection-runner.js';
import { appendFleetFixture, type FleetFixture } from './support/fleet-fixture.js';
import { makeDataDir, startTestApp, storeVariables, type TestApp } from './support/test-app.js';

/** `npm run projections:rebuild` runs this (after a build; `npm test` builds first). */
const rebuildCommand = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'rebuild.js');

function runRebuild(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [rebuildCommand], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Answers of every read endpoint that reads the read models, cursors included. */
async function answers(t: TestApp, fx: FleetFixture): Promise<unknown[]> {
  const viewer = t.auth('viewer');
  const get = async (path: string, query: Record<string, string | number> = {}) =>
    (await t.http().get(path).query(query).set('Authorization', viewer).expect(200)).body as Record<string, unknown>;
  const pages = async (path: string, query: Record<string, string | number>, count: number) => {
    const seen: unknown[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < count; i += 1) {
      const body = await get(path, cursor === undefined ? query : { ...query, cursor });
      seen.push(body);
      cursor = body['nextCursor'] as string | undefined;
      if (cursor === undefined) break;
    }
    return seen;
  };
  const asOf = new Date(fx.phases.deleted + 700).toISOString();
  const exported = await t
    .http()
    .get('/v1/audit/events')
    .query({ format: 'ndjson' })
    .set('Authorization', viewer)
    .expect(200);
  return [
    await pages('/v1/sites', { limit: 400 }, 3),
    await pages('/v1/sites', { status: 'deleted', limit: 50 }, 3),
    await pages('/v1/sites', { asOf, internal: 'true', limit: 20 }, 2),
    await get('/v1/stats'),
    await get('/v1/stats', { asOf }),
    await pages('/v1/audit/events', { operationId: fx.operationId, limit: 100 }, 3),
    await pages('/v1/audit/events', { type: 'SiteRestored,SitePurged', limit: 100 }, 2),
    exported.text,
  ];
}

describe('rebuilding the read models', () => {
  const dirs: string[] = [];
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (dataDir: string) => {
    t = await startTestApp({ dataDir });
    expect(await t.app.get(ProjectionRunner).catchUp(30_000)).toBe(true);
    return t;
  };
  const stop = async () => {
    await t?.close();
    t = undefined;
  };

  it('npm run projections:rebuild replays the whole ledger: the same answers, the same cursors', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    let app = await start(dataDir);
    const fx = await appendFleetFixture(app.store, { sites: 3000 });
    await app
      .http()
      .post('/v1/sites')
      .set('Authorization', app.auth('operator'))
      .send({ siteId: 'by-hand', customerId: 'c', name: 'By hand' })
      .expect(201);
    await app
      .http()
      .post('/v1/sites/by-hand/suspend')
      .set('Authorization', app.auth('operator'))
      .send({ reason: 'test' })
      .expect(200);
    expect(await app.app.get(ProjectionRunner).catchUp()).toBe(true);
    const before = await answers(app, fx);
    const events = (await app.allEvents()).length;
    const store = storeVariables(app.config);
    await stop();

    // Damage the read models behind the service's back; only a rebuild from the ledger repairs this.
    const file = (name: string) => join(dataDir, 'read-models', `${name}.db`);
    const fleet = new Database(file('fleet'));
    fleet.exec(`DELETE FROM fleet_intervals WHERE site_ordinal % 2 = 0;
      DELETE FROM fleet_count_buckets WHERE level < 3 AND bucket % 2 = 0`);
    fleet.close();
    const audit = new Database(file('audit'));
    audit.exec('DELETE FROM audit_events WHERE ordinal % 3 = 0');
    audit.close();
    app = await start(dataDir);
    expect(await answers(app, fx)).not.toEqual(before);
    await stop();

    const { code, output } = await runRebuild({ LEDGER_DATA_DIR: dataDir, ...store });
    expect(output).toMatch(new RegExp(`rebuilt the read models from ${events} events`));
    expect(code).toBe(0);
    // The rebuilt files are complete on their own: query indexes included, no WAL left behind.
    const indexesOf = (name: string) => {
      const rebuilt = new Database(file(name), { readonly: true });
      try {
        return rebuilt.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all();
      } finally {
        rebuilt.close();
      }
    };
    expect(indexesOf('fleet')).toEqual(
      expect.arrayContaining(['fleet_intervals_by_status', 'fleet_intervals_by_customer']),
    );
    expect(indexesOf('audit')).toEqual(expect.arrayContaining(['audit_by_type', 'audit_by_actor']));
    expect(indexesOf('transparency-log')).toEqual(expect.arrayContaining(['merkle_leaves_by_event']));
    for (const name of ['fleet', 'audit', 'transparency-log']) {
      expect(existsSync(`${file(name)}-wal`)).toBe(false);
      expect(existsSync(`${file(name)}.rebuild`)).toBe(false);
    }
    app = await start(dataDir);
    expect(await answers(app, fx)).toEqual(before);
    await stop();

    // A read-model file of another layout is rebuilt on start, alone, with the same result.
    const outdated = new Database(file('audit'));
    outdated.pragma('user_version = 1');
    outdated.close();
    app = await start(dataDir);
    expect(app.app.get(ProjectionRunner).ordinal).toBe(events);
    expect(await answers(app, fx)).toEqual(before);
  });

  it('refuses the memory store and a bad configuration, naming the problem', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const memory = await runRebuild({ LEDGER_DATA_DIR: dataDir, LEDGER_STORE: 'memory' });
    expect(memory.code).toBe(1);
    expect(memory.output).toMatch(/memory store keeps no read-model file/);
    const bad = await runRebuild({ LEDGER_DATA_DIR: dataDir, LEDGER_STORE: 'mongodb' });
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/LEDGER_STORE/);
  });
});
