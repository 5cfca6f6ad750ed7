import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * The lock itself: an empty SQLite database in the data folder, in which the
 * holder keeps an exclusive transaction open. SQLite takes it as an fcntl
 * lock, which the operating system drops when the process ends, however it
 * ends: after `kill -9` or a power cut nothing stale is left to clean up.
 * (A plain lock file created with O_EXCL would outlive a killed process.)
 *
 * Nothing else may open this file: POSIX drops all of a process's fcntl
 * locks on a file when any of its descriptors for that file closes. SQLite
 * itself guards against that between its own connections, so a second,
 * refused attempt in the same process leaves the first lock in place.
 */
export const LOCK_FILE = 'instance.lock';

/**
 * Who holds the lock, written by the holder once it has the lock. Read only
 * to name the holder in the refusal message; the lock never depends on it.
 */
export const HOLDER_FILE = 'instance.holder.json';

/**
 * How long a second process waits for the lock before it is refused. Not 0:
 * two processes starting at the same instant could then both be refused
 * (each sees the other's passing shared lock); a short wait lets one win.
 */
const LOCK_WAIT_MS = 200;

/** The process holding a data folder, as it described itself. */
export interface DataFolderHolder {
  pid: number;
  /** The script it runs (`main.js`, `rebuild.js`). */
  command: string;
  /** When it took the folder (ISO 8601). */
  since: string;
}

/** Another process holds the data folder (SQLite allows one process per folder, SPEC §9). */
export class DataFolderLockedError extends Error {
  constructor(
    readonly folder: string,
    /** Undefined when the holder could not be named (it has not written its record yet). */
    readonly holder: DataFolderHolder | undefined,
  ) {
    const who =
      holder === undefined
        ? 'another tenant-ledger process'
        : `another tenant-ledger process (pid ${holder.pid}, ${holder.command}, since ${holder.since})`;
    super(
      `the data folder ${folder} is in use by ${who}, and SQLite allows one process per data folder. ` +
        'Stop that process first, or give this one its own LEDGER_DATA_DIR.',
    );
    this.name = 'DataFolderLockedError';
  }
}

/** The data folder cannot be created or written (a path under a file, no permission, a read-only disk). */
export class DataFolderUnwritableError extends Error {
  constructor(
    readonly folder: string,
    readonly reason: string,
  ) {
    super(
      `the data folder ${folder} cannot be written (${reason}); fix its permissions or set LEDGER_DATA_DIR to a writable folder`,
    );
    this.name = 'DataFolderUnwritableError';
  }
}

/** This process's hold on a data folder; every file of the folder is opened after it is taken. */
export interface DataFolderLock {
  readonly folder: string;
  /** Lets another process take the folder. Call it once every file of the folder is closed. Idempotent. */
  release(): void;
}

/**
 * Takes `folder` (created if missing) for this process, until `release` or
 * the end of the process.
 * @throws DataFolderLockedError when another process (or another app in this
 *   process) holds it.
 * @throws DataFolderUnwritableError when the folder or its lock file cannot be made.
 */
export function lockDataFolder(folder: string): DataFolderLock {
  let db: Database.Database;
  try {
    // 0700 as the token bootstrap and the key store make it: whoever creates the folder first.
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    db = new Database(join(folder, LOCK_FILE), { timeout: LOCK_WAIT_MS });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new DataFolderUnwritableError(folder, typeof code === 'string' ? code : String(error));
  }
  try {
    // No rollback journal: the transaction never writes, so there is nothing to undo.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') throw new DataFolderLockedError(folder, holderOf(folder));
    throw error;
  }
  writeHolder(folder);
  let held = true;
  return {
    folder,
    release() {
      if (!held) return;
      held = false;
      // Removed while still held, so it never removes the next holder's record.
      rmSync(join(folder, HOLDER_FILE), { force: true });
      db.close(); // rolls the empty transaction back and drops the lock
    },
  };
}

function writeHolder(folder: string): void {
  const holder: DataFolderHolder = {
    pid: process.pid,
    command: basename(process.argv[1] ?? process.argv0),
    since: new Date().toISOString(),
  };
  // Renamed into place: a refused process never reads half a record.
  const file = join(folder, HOLDER_FILE);
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(holder)}\n`);
  renameSync(partial, file);
}

/** The holder's record, if it names a live process: a record left by a killed holder is not believed. */
function holderOf(folder: string): DataFolderHolder | undefined {
  let holder: Partial<DataFolderHolder>;
  try {
    holder = JSON.parse(readFileSync(join(folder, HOLDER_FILE), 'utf8')) as Partial<DataFolderHolder>;
  } catch {
    return undefined; // not written yet, or removed as the holder released it
  }
  const { pid, command, since } = holder;
  if (typeof pid !== 'number' || typeof command !== 'string' || typeof since !== 'string') return undefined;
  return isAlive(pid) ? { pid, command, since } : undefined;
}

function isAlive(pid: number): boolean {
  // 0 and negative numbers name process groups, not a process.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, but belongs to another user
  }
}
