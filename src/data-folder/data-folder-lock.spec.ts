import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DataFolderLockedError,
  HOLDER_FILE,
  LOCK_FILE,
  lockDataFolder,
  type DataFolderLock,
} from './data-folder-lock.js';

/**
 * Another process, in plain JavaScript, on the lock file: `probe` tries
 * SQLite's exclusive lock once and prints `free` or `busy`; `hold` takes it,
 * prints `held` and keeps it until killed. It is what any other process
 * sees of this one's lock, which is all the lock promises.
 */
const OTHER_PROCESS = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2], { timeout: 0 });
try { db.exec('BEGIN EXCLUSIVE'); } catch { console.log('busy'); process.exit(0); }
if (process.argv[3] === 'probe') { console.log('free'); process.exit(0); }
console.log('held');
setInterval(() => {}, 60_000);
`;
const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');

function otherProcess(folder: string, mode: 'probe' | 'hold'): ChildProcess {
  return spawn(process.execPath, ['-e', OTHER_PROCESS, betterSqlite3, join(folder, LOCK_FILE), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The first line the other process prints. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(output.split('\n')[0]!);
    });
    child.once('close', (code) =>
      reject(new Error(`the other process exited ${code} saying ${JSON.stringify(output)}`)),
    );
  });
}

const probe = (folder: string) => firstLine(otherProcess(folder, 'probe'));

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('lockDataFolder', () => {
  const dirs: string[] = [];
  const locks: DataFolderLock[] = [];
  const children: ChildProcess[] = [];
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-folder-lock-'));
    dirs.push(dir);
    return dir;
  };
  const lock = (dir: string) => {
    const taken = lockDataFolder(dir);
    locks.push(taken);
    return taken;
  };
  afterEach(async () => {
    for (const taken of locks.splice(0)) taken.release();
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the folder against another process until released, then can be taken again', async () => {
    const dir = folder();
    const taken = lock(dir);
    expect(await probe(dir)).toBe('busy');
    taken.release();
    taken.release(); // idempotent
    expect(await probe(dir)).toBe('free');
    lock(dir);
    expect(await probe(dir)).toBe('busy');
  });

  it('refuses a second holder in the same process, naming the folder and the holder, and keeps the first lock', async () => {
    const dir = folder();
    lock(dir);
    let refusal: unknown;
    try {
      lock(dir);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(DataFolderLockedError);
    const { folder: named, holder, message } = refusal as DataFolderLockedError;
    expect(named).toBe(dir);
    expect(holder).toMatchObject({ pid: process.pid });
    expect(message).toContain(dir);
    expect(message).toContain(`pid ${process.pid}`);
    expect(message).toMatch(/Stop that process first, or give this one its own LEDGER_DATA_DIR/);
    // The refused attempt closed its own descriptor of the lock file; POSIX would drop
    // every fcntl lock of the process on it, had SQLite not kept that descriptor open.
    expect(await probe(dir)).toBe('busy');
  });

  it('names a live holder from its record, and not one whose record outlived it', async () => {
    const dir = folder();
    const holder = otherProcess(dir, 'hold');
    children.push(holder);
    expect(await firstLine(holder)).toBe('held');
    const record = (pid: number) =>
      writeFileSync(join(dir, HOLDER_FILE), JSON.stringify({ pid, command: 'main.js', since: '2026-11-30T10:00:00Z' }));

    expect(() => lockDataFolder(dir)).toThrow(/in use by another tenant-ledger process, and/);
    record(holder.pid!);
    expect(() => lockDataFolder(dir)).toThrow(`pid ${holder.pid}, main.js, since 2026-11-30T10:00:00Z`);

    const finished = otherProcess(dir, 'probe');
    await exited(finished);
    record(finished.pid!);
    expect(() => lockDataFolder(dir)).toThrow(/in use by another tenant-ledger process, and/);
  });

  it('is not left behind by a holder killed with kill -9', async () => {
    const dir = folder();
    const holder = otherProcess(dir, 'hold');
    children.push(holder);
    expect(await firstLine(holder)).toBe('held');
    expect(() => lockDataFolder(dir)).toThrow(DataFolderLockedError);
    holder.kill('SIGKILL');
    await exited(holder);
    lock(dir);
    expect(await probe(dir)).toBe('busy');
  });

  it('creates a missing folder as private, records its holder, and removes the record on release', () => {
    const dir = join(folder(), 'data', 'ledger');
    const taken = lock(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    taken.release();
    expect(existsSync(join(dir, HOLDER_FILE))).toBe(false);
  });
});
