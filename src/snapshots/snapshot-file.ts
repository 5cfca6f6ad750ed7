import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SealedSnapshot } from './snapshot.js';

/**
 * The layout of the snapshot file. Bump it when the table changes: a file of
 * another layout is emptied when opened (snapshots are rebuilt as reads fold).
 * What a snapshot's `state` means is versioned apart, by its kind (SnapshotSeal).
 */
export const SNAPSHOT_FILE_LAYOUT = 1;

const COLUMNS = 'stream_id, version, hash, last_occurred_at, max_occurred_at_ms, in_time_order, state, mac' as const;

interface SnapshotRow {
  stream_id: string;
  version: number;
  hash: string;
  last_occurred_at: string;
  max_occurred_at_ms: number;
  in_time_order: number;
  state: string;
  mac: string;
}

/**
 * Snapshots of stream folds, in a SQLite file of this instance's own
 * (`<data dir>/snapshots.db`), beside its read models.
 *
 * Why a file of the instance and not the event store: snapshots are derived
 * data, like read models. One SQLite file works the same under every store
 * (SQLite, PostgreSQL, EventStoreDB) with no adapter to write and no second
 * write path into the shared ledger; several PostgreSQL instances each fold
 * a stream once and keep their own. Why not the read-model file: that one is
 * fed only by the global order under its checkpoint, and is replaced whole
 * by a rebuild; snapshots are written by reads as they fold, at any moment.
 *
 * Deleting the file is always safe: reads replay, and write snapshots again.
 * So it is never a reason to fail a read: a write that fails (a full disk)
 * or a file that cannot be read is reported through `warn` and leaves the
 * read to replay. Writes are not flushed to disk (`synchronous=NORMAL`):
 * a power cut may lose the last ones, which is harmless for the same reason.
 * Nothing in it is trusted as it stands: SnapshotSeal checks each row's MAC,
 * and the reader checks the store still holds the event it ends on.
 */
export class SnapshotFile {
  readonly #db: Database.Database;
  readonly #best: Database.Statement<[string, number, number, number], SnapshotRow>;
  readonly #newest: Database.Statement<[string], SnapshotRow>;
  readonly #firstPast: Database.Statement<[string, number], SnapshotRow>;
  readonly #all: Database.Statement<[string], SnapshotRow>;
  readonly #put: Database.Statement<SnapshotRow>;
  readonly #dropFrom: Database.Statement<[string, number]>;
  readonly #keep: (snapshots: readonly SealedSnapshot[]) => void;
  /** What went wrong already: each kind of failure is reported once, not on every read. */
  readonly #reported = new Set<string>();

  /**
   * Opens (or creates) the file; `:memory:` keeps it in memory. A file that
   * is not a database, or a damaged one, is replaced by an empty one.
   */
  constructor(
    readonly file: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.#db = openReplacingDamaged(file, warn);
    const db = this.#db;
    this.#best = db.prepare(
      `SELECT ${COLUMNS} FROM snapshots WHERE stream_id = ? AND version > ? AND version <= ? AND max_occurred_at_ms <= ?
       ORDER BY version DESC LIMIT 1`,
    );
    this.#newest = db.prepare(`SELECT ${COLUMNS} FROM snapshots WHERE stream_id = ? ORDER BY version DESC LIMIT 1`);
    this.#firstPast = db.prepare(
      `SELECT ${COLUMNS} FROM snapshots WHERE stream_id = ? AND max_occurred_at_ms > ? ORDER BY version LIMIT 1`,
    );
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM snapshots WHERE stream_id = ? ORDER BY version`);
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO snapshots (${COLUMNS})
       VALUES (@stream_id, @version, @hash, @last_occurred_at, @max_occurred_at_ms, @in_time_order, @state, @mac)`,
    );
    this.#dropFrom = db.prepare('DELETE FROM snapshots WHERE stream_id = ? AND version >= ?');
    const put = this.#put;
    this.#keep = db.transaction((snapshots: readonly SealedSnapshot[]) => {
      for (const snapshot of snapshots) put.run(rowOf(snapshot));
    });
  }

  /**
   * The newest snapshot of the stream at or before `toVersion` whose events
   * all happened by `toTimeMs`; only one after `afterVersion` (a start the
   * reader has already) is worth returning.
   */
  best(streamId: string, toVersion: number, toTimeMs: number, afterVersion = 0): SealedSnapshot | undefined {
    if (Number.isNaN(toTimeMs)) return undefined;
    return this.#read(() => this.#best.get(streamId, afterVersion, toVersion, clampMs(toTimeMs)));
  }

  /** The stream's newest snapshot. */
  newest(streamId: string): SealedSnapshot | undefined {
    return this.#read(() => this.#newest.get(streamId));
  }

  /** The stream's oldest snapshot with an event after `timeMs` (maxOccurredAtMs > timeMs). */
  firstPast(streamId: string, timeMs: number): SealedSnapshot | undefined {
    if (Number.isNaN(timeMs)) return undefined;
    return this.#read(() => this.#firstPast.get(streamId, clampMs(timeMs)));
  }

  /** Every snapshot of the stream, oldest first (for tests and inspection). */
  all(streamId: string): SealedSnapshot[] {
    if (!this.#db.open) return [];
    try {
      return this.#all.all(streamId).map(snapshotOf);
    } catch (error) {
      this.#report('read', error);
      return [];
    }
  }

  /** Writes snapshots (replacing any at the same stream and version), all in one transaction. */
  keep(snapshots: readonly SealedSnapshot[]): void {
    if (snapshots.length === 0 || !this.#db.open) return;
    try {
      this.#keep(snapshots);
    } catch (error) {
      this.#report('write', error);
    }
  }

  /** Removes the stream's snapshots at `version` and after (they rest on a chain the store no longer holds). */
  dropFrom(streamId: string, version: number): void {
    if (!this.#db.open) return;
    try {
      this.#dropFrom.run(streamId, version);
    } catch (error) {
      this.#report('write', error);
    }
  }

  /**
   * Makes the file hold snapshots of `owner` only (a kind and a key, say):
   * if it was written for another (a new state layout, a new key, another
   * deployment's file), it is emptied first, so none of its snapshots is
   * later refused as if it had been tampered with.
   * @returns whether the file was emptied
   */
  claim(owner: string): boolean {
    if (!this.#db.open) return false;
    try {
      return this.#db.transaction(() => {
        const held = this.#db.prepare('SELECT owner FROM owner').pluck().get() as string | undefined;
        if (held === owner) return false;
        this.#db.exec('DELETE FROM snapshots; DELETE FROM owner');
        this.#db.prepare('INSERT INTO owner (owner) VALUES (?)').run(owner);
        return held !== undefined;
      })();
    } catch (error) {
      this.#report('write', error);
      return false;
    }
  }

  /** Idempotent; afterwards reads find nothing and writes do nothing. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #read(get: () => SnapshotRow | undefined): SealedSnapshot | undefined {
    if (!this.#db.open) return undefined;
    try {
      const row = get();
      return row === undefined ? undefined : snapshotOf(row);
    } catch (error) {
      this.#report('read', error);
      return undefined;
    }
  }

  #report(what: 'read' | 'write', error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const key = `${what}: ${message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.warn(`snapshot file ${this.file}: cannot ${what} (${message}); reads replay the events instead`);
  }
}

/** SQLite integers are 64-bit; times beyond ±2^53 ms compare the same as the largest safe ones. */
const clampMs = (ms: number): number => Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, ms));

function rowOf(snapshot: SealedSnapshot): SnapshotRow {
  return {
    stream_id: snapshot.streamId,
    version: snapshot.version,
    hash: snapshot.hash,
    last_occurred_at: snapshot.lastOccurredAt,
    max_occurred_at_ms: snapshot.maxOccurredAtMs,
    in_time_order: snapshot.inTimeOrder ? 1 : 0,
    state: snapshot.state,
    mac: snapshot.mac,
  };
}

function snapshotOf(row: SnapshotRow): SealedSnapshot {
  return {
    streamId: row.stream_id,
    version: row.version,
    hash: row.hash,
    lastOccurredAt: row.last_occurred_at,
    maxOccurredAtMs: row.max_occurred_at_ms,
    inTimeOrder: row.in_time_order === 1,
    state: row.state,
    mac: row.mac,
  };
}

function openReplacingDamaged(file: string, warn: (message: string) => void): Database.Database {
  try {
    return open(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (file === ':memory:' || (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT')) throw error;
    warn(`snapshot file ${file} is damaged (${code}); starting an empty one`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    return open(file);
  }
}

function open(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    if (db.pragma('user_version', { simple: true }) !== SNAPSHOT_FILE_LAYOUT) {
      db.exec('DROP TABLE IF EXISTS snapshots; DROP TABLE IF EXISTS owner');
      db.pragma(`user_version = ${SNAPSHOT_FILE_LAYOUT}`);
    }
    db.exec(`CREATE TABLE IF NOT EXISTS snapshots (
      stream_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      hash TEXT NOT NULL,
      last_occurred_at TEXT NOT NULL,
      max_occurred_at_ms INTEGER NOT NULL,
      in_time_order INTEGER NOT NULL,
      state TEXT NOT NULL,
      mac TEXT NOT NULL,
      PRIMARY KEY (stream_id, version)
    ) STRICT;
    -- Finding a snapshot by version and time reads this index only, never the rows (and their states) it passes.
    CREATE INDEX IF NOT EXISTS snapshots_by_time ON snapshots (stream_id, version, max_occurred_at_ms);
    CREATE TABLE IF NOT EXISTS owner (owner TEXT NOT NULL) STRICT`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
