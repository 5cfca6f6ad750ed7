import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { withConnection } from '../event-store/postgres/postgres.client.js';
import type { PostgresConnection } from '../event-store/postgres/postgres.connection.js';
import { toPortError } from '../event-store/postgres/postgres.errors.js';
import { createTableOnce } from '../event-store/postgres/postgres.schema.js';
import { KeyDestroyedError, type KeyStore } from './key-store.port.js';

const KEY_BYTES = 32;

/**
 * A key row is either live (key set) or destroyed (key NULL, destroyed_at
 * set). `created_at` is NULL for a site whose key was destroyed before it
 * was ever created: the row still blocks a new key. STORAGE PLAIN keeps the
 * key inline and uncompressed in the heap page, never in a TOAST table, so
 * the rewrite of `destroyKey` covers every copy of it in the table.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS site_keys (
  site_id      text COLLATE "C" PRIMARY KEY,
  key          bytea CHECK (key IS NULL OR octet_length(key) = ${KEY_BYTES}),
  created_at   timestamptz,
  destroyed_at timestamptz,
  CHECK ((key IS NULL) = (destroyed_at IS NOT NULL))
);
ALTER TABLE site_keys ALTER COLUMN key SET STORAGE PLAIN;
`;

/**
 * What still holds the old row version of destruction `$1` (its xid; `$2`,
 * the same as xid8): a rewrite must copy a dead version that some snapshot
 * may still see. Two conditions, both needed:
 * - no transaction that started before the destruction is still running,
 *   in any database: a backend that connects meanwhile takes a snapshot
 *   reaching back to the oldest of those, and until it is in its database
 *   it counts for every database's horizon (and pg_current_snapshot needs
 *   no privilege to see other roles' transactions);
 * - no snapshot as old, in a session of this database or of none (WAL
 *   senders: a standby's hot_standby_feedback), nor a replication slot.
 * Autovacuum workers are left out: PostgreSQL ignores their snapshots too.
 */
const OLDER_TRANSACTIONS = `
SELECT 'a transaction older than the destruction' AS holder
WHERE pg_snapshot_xmin(pg_current_snapshot()) <= $2::xid8
UNION ALL
SELECT 'session ' || pid FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND backend_type <> 'autovacuum worker'
  AND (datname = current_database() OR datname IS NULL)
  AND age(backend_xmin) >= age($1::xid)
UNION ALL
SELECT 'replication slot ' || slot_name FROM pg_replication_slots WHERE age(xmin) >= age($1::xid)`;

/** The transaction that destroyed a key: its xid, as xid (32 bits) and as xid8 (with the epoch). */
interface Destruction {
  xid: string;
  xid8: string;
}

/** A #find waiting for its query. */
interface KeyLookup {
  siteId: string;
  resolve: (row: { key: Buffer | null } | undefined) => void;
  reject: (error: unknown) => void;
}

/** The most key lookups one query carries. */
const LOOKUPS_PER_QUERY = 500;

export interface PostgresKeyStoreOptions {
  /** Where creating the table, and a key whose bytes could not be scrubbed yet, are reported. */
  log: (message: string) => void;
  /** How long `destroyKey` waits for transactions older than the destruction to end (default 2 s). */
  scrubWaitMs?: number;
  /** How long the table rewrite waits for its lock before giving up (default 1 s): readers of keys queue behind it. */
  scrubLockTimeoutMs?: number;
}

/**
 * Site data keys in the ledger's PostgreSQL database (table `site_keys`),
 * shared by every instance, on the pool of `openPostgres` (which the store
 * never ends).
 *
 * Destroying a key: the row's key is set NULL (committed: from then on no
 * one can obtain it), then the table is rewritten (`VACUUM FULL`) so the old
 * row version leaves the table's pages. A plain VACUUM is not enough: it
 * frees the dead version's space without overwriting it, and the bytes stay
 * in the page's free space until a later row happens to land there. The
 * rewrite copies only live rows into a new file and drops the old one; it
 * must keep a dead version that an older transaction may still see, so it
 * first waits (up to `scrubWaitMs`) for those to end. What PostgreSQL keeps
 * elsewhere (WAL, archived WAL, base backups, the old file's blocks on
 * disk) is beyond a table rewrite.
 */
export class PostgresKeyStore implements KeyStore {
  readonly #connection: Pick<PostgresConnection, 'pool' | 'target'>;
  readonly #log: (message: string) => void;
  readonly #scrubWaitMs: number;
  readonly #scrubLockTimeoutMs: number;
  #closed = false;
  /** The rewrite under way, and the one queued to start after it (see #rewriteAfterNow). */
  #runningRewrite: Promise<void> | undefined;
  #nextRewrite: Promise<void> | undefined;
  /** Key lookups waiting for the next query (see #find), and whether one is out. */
  #lookups: KeyLookup[] = [];
  #lookingUp = false;

  /** Creates the key table if it is missing (saying so), then opens the store on the connection's pool. */
  static async open(
    connection: Pick<PostgresConnection, 'pool' | 'target'>,
    options: PostgresKeyStoreOptions,
  ): Promise<PostgresKeyStore> {
    try {
      await createTableOnce(
        connection.pool,
        { table: 'site_keys', description: 'the site key table', ddl: SCHEMA },
        connection.target,
        options.log,
      );
    } catch (error) {
      throw toPortError(error, { action: 'creating the site key table', target: connection.target });
    }
    return new PostgresKeyStore(connection, options);
  }

  private constructor(connection: Pick<PostgresConnection, 'pool' | 'target'>, options: PostgresKeyStoreOptions) {
    this.#connection = connection;
    this.#log = options.log;
    this.#scrubWaitMs = options.scrubWaitMs ?? 2_000;
    this.#scrubLockTimeoutMs = options.scrubLockTimeoutMs ?? 1_000;
  }

  async obtainKey(siteId: string): Promise<Buffer> {
    return this.#guard(`obtaining the key of ${siteId}`, async () => {
      // Most calls find a live key.
      const found = await this.#find(siteId);
      if (found !== undefined) return liveKey(siteId, found);
      // Two callers may both find none: the first insert wins, the other
      // waits for it, inserts nothing, and reads the winner's key.
      const { rows } = await this.#connection.pool.query<{ key: Buffer }>({
        name: 'keys-create',
        text: `INSERT INTO site_keys (site_id, key, created_at) VALUES ($1, $2, now())
               ON CONFLICT (site_id) DO NOTHING RETURNING key`,
        values: [siteId, randomBytes(KEY_BYTES)],
      });
      const created = rows[0]?.key;
      if (created !== undefined) return created;
      const winner = await this.#find(siteId);
      if (winner === undefined) throw new Error(`the key row of site ${siteId} vanished`);
      return liveKey(siteId, winner);
    });
  }

  async findKey(siteId: string): Promise<Buffer | undefined> {
    return this.#guard(`reading the key of ${siteId}`, async () => (await this.#find(siteId))?.key ?? undefined);
  }

  /**
   * Destroys the key (for good, once this resolves), then scrubs its bytes
   * from the table as described on the class. A scrub that cannot complete
   * (an older transaction still open, the rewrite's lock not granted) is
   * reported through `log`, not thrown: the key is destroyed, and the next
   * `destroyKey` of any site rewrites the table again.
   */
  async destroyKey(siteId: string): Promise<void> {
    const destroyedBy = await this.#guard(`destroying the key of ${siteId}`, async () => {
      const { rows } = await this.#connection.pool.query<Destruction>({
        name: 'keys-destroy',
        text: `INSERT INTO site_keys (site_id, key, created_at, destroyed_at) VALUES ($1, NULL, NULL, now())
               ON CONFLICT (site_id) DO UPDATE
                 SET key = NULL, destroyed_at = coalesce(site_keys.destroyed_at, excluded.destroyed_at)
               RETURNING xmin::text AS xid, pg_current_xact_id()::text AS xid8`,
        values: [siteId],
      });
      const destruction = rows[0];
      if (destruction === undefined) throw new Error(`destroying the key of site ${siteId} returned no row`);
      return destruction;
    });
    await this.#scrub(siteId, destroyedBy);
  }

  /** Idempotent. The pool stays open: its owner ends it. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * One site's key row. Lookups that arrive while one query is out are sent
   * together in the next (`site_id = ANY(...)`): 32 concurrent commands cost
   * a few round trips, not 32. A lookup is answered only by a query sent
   * after it arrived, so it never sees a key destroyed before it was asked.
   */
  #find(siteId: string): Promise<{ key: Buffer | null } | undefined> {
    return new Promise((resolve, reject) => {
      this.#lookups.push({ siteId, resolve, reject });
      if (!this.#lookingUp) void this.#lookUpQueued();
    });
  }

  async #lookUpQueued(): Promise<void> {
    this.#lookingUp = true;
    try {
      while (this.#lookups.length > 0) {
        const batch = this.#lookups.splice(0, LOOKUPS_PER_QUERY);
        try {
          const { rows } = await this.#connection.pool.query<{ site_id: string; key: Buffer | null }>({
            name: 'keys-find-many',
            text: 'SELECT site_id, key FROM site_keys WHERE site_id = ANY($1::text[])',
            values: [[...new Set(batch.map(({ siteId }) => siteId))]],
          });
          const found = new Map(rows.map((row) => [row.site_id, { key: row.key }]));
          for (const lookup of batch) lookup.resolve(found.get(lookup.siteId));
        } catch (error) {
          for (const lookup of batch) lookup.reject(error);
        }
      }
    } finally {
      this.#lookingUp = false;
    }
  }

  /** Waits for older transactions, then has the table rewritten; reports, never throws. */
  async #scrub(siteId: string, destroyedBy: Destruction): Promise<void> {
    try {
      const holders = await this.#olderTransactions(destroyedBy);
      await this.#rewriteAfterNow();
      if (holders.length > 0) {
        this.#log(
          `the key of site ${siteId} is destroyed, but older transactions may still see it (${holders.join(', ')}), so its bytes may stay in the site_keys pages until the next destroyKey once they end`,
        );
      }
    } catch (error) {
      this.#log(
        `the key of site ${siteId} is destroyed, but rewriting site_keys failed (${error instanceof Error ? error.message : String(error)}), so its bytes stay in the table's pages until the next destroyKey`,
      );
    }
  }

  /**
   * A rewrite of the table that starts after this call, shared: a purge of
   * many sites destroys their keys at once, and one rewrite started after
   * all of them committed scrubs them all, instead of one rewrite (and one
   * moment of exclusive lock on the table, for every instance) per key. A
   * rewrite already under way may have copied the table before the caller's
   * destruction, so the caller waits for the next one.
   */
  #rewriteAfterNow(): Promise<void> {
    this.#nextRewrite ??= (async () => {
      await this.#runningRewrite?.catch(() => undefined);
      // From here on, a caller needs a rewrite that starts after this one.
      this.#nextRewrite = undefined;
      const running = this.#rewrite();
      this.#runningRewrite = running;
      try {
        await running;
      } finally {
        if (this.#runningRewrite === running) this.#runningRewrite = undefined;
      }
    })();
    return this.#nextRewrite;
  }

  /** `VACUUM FULL site_keys`: copies the live rows into a new file and drops the old one. */
  async #rewrite(): Promise<void> {
    await withConnection(this.#connection.pool, async (client, discard) => {
      // VACUUM cannot run inside a transaction, so the lock timeout is set
      // for the session and reset after.
      await client.query(`SET lock_timeout = ${this.#scrubLockTimeoutMs}`);
      try {
        await client.query('VACUUM FULL site_keys');
      } finally {
        await client.query('RESET lock_timeout').catch(discard);
      }
    });
  }

  /** The sessions that still hold back `destroyedBy`'s old row version after waiting up to scrubWaitMs; [] once none. */
  async #olderTransactions(destroyedBy: Destruction): Promise<string[]> {
    const deadline = Date.now() + this.#scrubWaitMs;
    for (let pauseMs = 10; ; pauseMs = Math.min(pauseMs * 2, 200)) {
      const { rows } = await this.#connection.pool.query<{ holder: string }>(OLDER_TRANSACTIONS, [
        destroyedBy.xid,
        destroyedBy.xid8,
      ]);
      if (rows.length === 0 || Date.now() >= deadline) return rows.map((row) => row.holder);
      await sleep(Math.min(pauseMs, Math.max(deadline - Date.now(), 0)));
    }
  }

  /** The key store shares the event store's "unavailable" error for driver failures. */
  async #guard<T>(action: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new EventStoreUnavailableError('the PostgreSQL key store is closed');
    try {
      return await work();
    } catch (error) {
      throw toPortError(error, { action, target: this.#connection.target });
    }
  }
}

function liveKey(siteId: string, row: { key: Buffer | null }): Buffer {
  if (row.key === null) throw new KeyDestroyedError(siteId);
  return row.key;
}
