import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { KeyDestroyedError, type KeyStore } from './key-store.port.js';

const KEY_BYTES = 32;

/**
 * A key row is either live (key set) or destroyed (key NULL, destroyed_at
 * set). `created_at` is NULL for a site whose key was destroyed before it
 * was ever created: the row still blocks a new key.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS site_keys (
  site_id      TEXT PRIMARY KEY,
  key          BLOB CHECK (key IS NULL OR length(key) = ${KEY_BYTES}),
  created_at   TEXT,
  destroyed_at TEXT,
  CHECK ((key IS NULL) = (destroyed_at IS NOT NULL))
) STRICT;
`;

interface KeyRow {
  key: Buffer | null;
}

/**
 * Site data keys in their own SQLite file (`<data dir>/keys.db`), apart from
 * the event log, so key bytes never share pages, WAL or backups with events.
 *
 * Destroying a key must leave its bytes nowhere on disk:
 * - `secure_delete` makes SQLite overwrite freed cell space and pages with
 *   zeros instead of leaving the old bytes behind;
 * - in WAL mode the update that clears a key goes to the -wal file while
 *   older frames there (and the main file) may still hold the key, so
 *   `destroyKey` ends with `wal_checkpoint(TRUNCATE)`: the cleared page is
 *   copied over the old one in the main file and the WAL is cut to zero bytes.
 */
export class SqliteKeyStore implements KeyStore {
  readonly #db: Database.Database;
  readonly #find: Database.Statement<[string], KeyRow>;
  readonly #create: Database.Statement<[{ siteId: string; key: Buffer; createdAt: string }]>;
  readonly #destroy: Database.Statement<[{ siteId: string; destroyedAt: string }]>;
  readonly #obtain: Database.Transaction<(siteId: string) => Buffer>;

  /** Opens (creating it and its directory if missing) the key store in `file`. */
  constructor(file: string, options: { busyTimeoutMs?: number } = {}) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Keys are secrets: only the service's user may read them. SQLite gives
    // the -wal and -shm files the permissions of the database file.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    const db = new Database(file, { timeout: options.busyTimeoutMs ?? 5_000 });
    try {
      // WAL before synchronous: this build lowers synchronous on entering WAL.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('secure_delete = ON');
      const settings = [
        db.pragma('journal_mode', { simple: true }),
        db.pragma('synchronous', { simple: true }),
        db.pragma('secure_delete', { simple: true }),
      ];
      if (settings.join() !== 'wal,2,1') {
        throw new Error(
          `${file}: expected journal_mode=wal, synchronous=FULL (2), secure_delete=1; got ${settings.join(', ')}`,
        );
      }
      db.exec(SCHEMA);
      this.#find = db.prepare('SELECT key FROM site_keys WHERE site_id = ?');
      this.#create = db.prepare('INSERT INTO site_keys (site_id, key, created_at) VALUES (@siteId, @key, @createdAt)');
      this.#destroy = db.prepare(
        `INSERT INTO site_keys (site_id, key, created_at, destroyed_at)
         VALUES (@siteId, NULL, NULL, @destroyedAt)
         ON CONFLICT (site_id) DO UPDATE
           SET key = NULL, destroyed_at = coalesce(destroyed_at, excluded.destroyed_at)`,
      );
      // Read and create in one write transaction: two connections cannot
      // both find no key and create two.
      this.#obtain = db.transaction((siteId: string): Buffer => {
        const row = this.#find.get(siteId);
        if (row !== undefined) {
          if (row.key === null) throw new KeyDestroyedError(siteId);
          return row.key;
        }
        const key = randomBytes(KEY_BYTES);
        this.#create.run({ siteId, key, createdAt: new Date().toISOString() });
        return key;
      });
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
  }

  async obtainKey(siteId: string): Promise<Buffer> {
    return this.#guard(() => {
      // Most calls find a live key: no need to take the write lock for those.
      const key = this.#find.get(siteId)?.key;
      return key ?? this.#obtain.immediate(siteId);
    });
  }

  async findKey(siteId: string): Promise<Buffer | undefined> {
    return this.#guard(() => this.#find.get(siteId)?.key ?? undefined);
  }

  /**
   * @throws Error if another connection's read kept the checkpoint from
   *   emptying the WAL: the key is destroyed (nobody can obtain it any
   *   more), but its bytes may remain until a later checkpoint. Repeating
   *   the call is safe.
   */
  async destroyKey(siteId: string): Promise<void> {
    this.#guard(() => {
      this.#destroy.run({ siteId, destroyedAt: new Date().toISOString() });
      const [result] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as {
        busy: number;
      }[];
      if (result?.busy !== 0) {
        throw new Error(
          `the key of site ${siteId} is destroyed, but a reader kept its bytes in ${this.#db.name}-wal; retry destroyKey`,
        );
      }
    });
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** The key store shares the event store's "unavailable" error for driver failures. */
  #guard<T>(work: () => T): T {
    if (!this.#db.open) throw new EventStoreUnavailableError('the sqlite key store is closed');
    try {
      return work();
    } catch (error) {
      if (error instanceof Database.SqliteError) {
        throw new EventStoreUnavailableError(`the key store failed: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}
