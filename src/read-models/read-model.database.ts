import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Projection, ProjectionClass } from './projection.js';

/**
 * The layout of the read-model file. Bump it whenever a projection's tables
 * or the meaning of their rows change: a file written by another layout is
 * then emptied when opened, and the runner rebuilds it from the ledger, so
 * a deployment never serves rows an older projection derived differently.
 */
export const READ_MODEL_SCHEMA_VERSION = 8;

/**
 * A read-model file (`<data dir>/read-models/<name>.db`) and the
 * projections kept in it. Each file has one writer and its own checkpoint,
 * so files are built in parallel (see rebuild.ts); a projection's queries
 * read only its own file.
 */
export interface ReadModelFile {
  readonly name: string;
  readonly db: Database.Database;
  readonly projections: readonly Projection[];
}

/** A read-model file with its projections constructed on its database. */
export function readModelFileOf(name: string, db: Database.Database, types: readonly ProjectionClass[]): ReadModelFile {
  return { name, db, projections: types.map((type) => new type(db)) };
}

/**
 * A read-model file, or with `disposable` a file being rebuilt beside it. Derived data only, so
 * `synchronous=NORMAL` suffices: after a power cut it may lose its last
 * transactions, and the runner replays them from the checkpoint it kept in
 * the same transactions. Deleting the file is always safe (it is rebuilt).
 */
export function openReadModelDatabase(file: string, options: { disposable?: boolean } = {}): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  if (options.disposable) {
    // A file being rebuilt is thrown away if anything stops the rebuild
    // (rebuild.ts), so it needs no crash safety: the rollback journal in
    // memory still undoes a batch that failed, and each page is written
    // once, to the file, instead of to the WAL and then again to the file.
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
  } else {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('busy_timeout = 5000');
  // Large catch-ups touch many index pages; 64 MiB keeps them in memory. A file being rebuilt has no
  // query indexes until the end and is written mostly in key order: 16 MiB served a 1,000,000-event
  // rebuild faster (a page read again from the OS's cache costs less than touching fresh memory).
  db.pragma(`cache_size = -${options.disposable ? 16 * 1024 : 64 * 1024}`);
  if (db.pragma('user_version', { simple: true }) !== READ_MODEL_SCHEMA_VERSION) {
    dropEverything(db);
    db.pragma(`user_version = ${READ_MODEL_SCHEMA_VERSION}`);
  }
  // `events`: how many ledger events the checkpoint covers, which is also
  // the ordinal of the event at `position` (see Projection.apply).
  db.exec(`CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    events INTEGER NOT NULL
  )`);
  return db;
}

function dropEverything(db: Database.Database): void {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  db.transaction(() => {
    for (const table of tables) db.exec(`DROP TABLE IF EXISTS "${table.replaceAll('"', '""')}"`);
  })();
}

/** Nest token for every ReadModelFile, in the order they are applied. */
export const READ_MODEL_FILES = Symbol('READ_MODEL_FILES');
