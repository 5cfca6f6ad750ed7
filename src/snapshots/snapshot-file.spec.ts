import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SealedSnapshot } from './snapshot.js';
import { SNAPSHOT_FILE_LAYOUT, SnapshotFile } from './snapshot-file.js';

const START = Date.parse('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;

/** A snapshot at `version` whose last event happened `version` minutes after START. */
const at = (version: number, streamId = 'site-a', mac = `mac-${version}`): SealedSnapshot => ({
  streamId,
  version,
  hash: `hash-${version}`,
  lastOccurredAt: new Date(START + version * MINUTE).toISOString(),
  maxOccurredAtMs: START + version * MINUTE,
  inTimeOrder: true,
  state: JSON.stringify({ version }),
  mac,
});

describe('SnapshotFile', () => {
  let dir: string;
  let file: SnapshotFile;
  const warnings: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tenant-ledger-snapshots-'));
    warnings.length = 0;
    file = new SnapshotFile(join(dir, 'snapshots.db'), (message) => warnings.push(message));
  });
  afterEach(() => {
    file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the newest snapshot at or before a version and a time, the newest, and the first past a time', () => {
    file.keep([10, 20, 30, 40].map((version) => at(version)));
    file.keep([at(10, 'site-b'), at(50, 'site-b')]);
    expect(file.best('site-a', 35, Number.MAX_SAFE_INTEGER)?.version).toBe(30);
    expect(file.best('site-a', 40, START + 25 * MINUTE)?.version).toBe(20);
    expect(file.best('site-a', 9, Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(file.best('site-a', 40, START)).toBeUndefined();
    expect(file.best('site-a', 40, Number.NaN)).toBeUndefined();
    expect(file.best('site-a', 40, Number.MAX_SAFE_INTEGER, 30)?.version).toBe(40); // one past a start the caller has
    expect(file.best('site-a', 35, Number.MAX_SAFE_INTEGER, 30)).toBeUndefined();
    expect(file.newest('site-a')?.version).toBe(40);
    expect(file.firstPast('site-a', START + 25 * MINUTE)?.version).toBe(30);
    expect(file.firstPast('site-a', START + 40 * MINUTE)).toBeUndefined();
    expect(file.newest('site-c')).toBeUndefined();
    expect(file.best('site-a', 40, Number.MAX_SAFE_INTEGER)).toEqual(at(40));
  });

  it('replaces a snapshot at the same place, drops a stream from a version on, and keeps what it holds across a reopen', () => {
    file.keep([10, 20, 30].map((version) => at(version)));
    file.keep([at(20, 'site-a', 'other-mac')]);
    expect(file.all('site-a').map((each) => each.mac)).toEqual(['mac-10', 'other-mac', 'mac-30']);
    file.dropFrom('site-a', 20);
    expect(file.all('site-a').map((each) => each.version)).toEqual([10]);
    file.close();
    file = new SnapshotFile(join(dir, 'snapshots.db'));
    expect(file.all('site-a')).toEqual([at(10)]);
  });

  it('holds the snapshots of one owner: claimed by another, it is emptied first', () => {
    expect(file.claim('site-state/1 key-a')).toBe(false); // a new file
    file.keep([at(10)]);
    expect(file.claim('site-state/1 key-a')).toBe(false);
    expect(file.all('site-a')).toHaveLength(1);
    file.close();
    file = new SnapshotFile(join(dir, 'snapshots.db'));
    expect(file.claim('site-state/1 key-a')).toBe(false);
    expect(file.all('site-a')).toHaveLength(1);
    expect(file.claim('site-state/2 key-a')).toBe(true);
    expect(file.all('site-a')).toEqual([]);
  });

  it('empties a file of another layout, and replaces one that is not a database', () => {
    file.keep([at(10)]);
    file.close();
    const raw = new Database(join(dir, 'snapshots.db'));
    raw.pragma(`user_version = ${SNAPSHOT_FILE_LAYOUT + 1}`);
    raw.close();
    file = new SnapshotFile(join(dir, 'snapshots.db'));
    expect(file.all('site-a')).toEqual([]);
    file.close();

    writeFileSync(join(dir, 'junk.db'), 'this is no SQLite database, just text that fills a page. '.repeat(200));
    file = new SnapshotFile(join(dir, 'junk.db'), (message) => warnings.push(message));
    expect(warnings.join('\n')).toMatch(/damaged .*starting an empty one/);
    file.keep([at(10)]);
    expect(file.all('site-a')).toHaveLength(1);
  });

  it('never fails its caller: a write it cannot make is reported once, and a closed file finds nothing', () => {
    const raw = new Database(join(dir, 'snapshots.db'));
    raw.exec("CREATE TRIGGER no_writes BEFORE INSERT ON snapshots BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    raw.close();
    expect(() => file.keep([at(10)])).not.toThrow();
    expect(() => file.keep([at(20)])).not.toThrow();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot write \(disk full\)/);
    file.close();
    expect(file.best('site-a', 100, Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(() => file.keep([at(30)])).not.toThrow();
    expect(() => file.dropFrom('site-a', 0)).not.toThrow();
  });
});
