import pg from 'pg';
import { EventStoreFailedError } from '../event-store.errors.js';
import { isTransientPostgresError, toPortError } from './postgres.errors.js';
import { ensureEventsSchema } from './postgres.schema.js';

/**
 * The one connection pool of a process on the ledger's database, and what
 * every user of it shares. This file and `postgres.errors.ts` are the
 * adapter's public pieces besides the store: the key store (`crypto/`) uses
 * them.
 *
 * Lifecycle: `stores/` opens one `PostgresConnection`, hands its pool to the
 * event store and the key store, closes both stores, then closes the
 * connection. The stores never end the pool (as with EventStoreDB's client).
 */
export interface PostgresConnection {
  pool: pg.Pool;
  /** The database and server, without credentials (`tenant_ledger on 127.0.0.1:5432`): for messages. */
  target: string;
  /** Ends the pool, waiting for checked-out connections. Close the stores first. Idempotent. */
  close(): Promise<void>;
}

export interface PostgresOptions {
  /** Where creating the database or its schema is reported, and idle connection failures. */
  log: (message: string) => void;
  /**
   * How long a statement waits for a lock before it fails with
   * EventStoreUnavailableError: for an append, how long it queues behind
   * other writers' transactions for the append lock (default 5 s).
   */
  lockTimeoutMs?: number;
  /** How long one statement may run (default 30 s). */
  statementTimeoutMs?: number;
  /**
   * How long the server keeps a session that sits idle inside a
   * transaction (default 10 s): a frozen or partitioned instance must not
   * hold the append lock, and so every writer, for longer.
   */
  idleInTransactionTimeoutMs?: number;
  /** How long to wait for a connection, so an unreachable server fails fast (default 3 s). */
  connectTimeoutMs?: number;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

const DEFAULTS = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 10_000,
  connectTimeoutMs: 3_000,
  maxConnections: 10,
} as const;

/** The server's "maintenance" database, where a missing database is created from. */
const MAINTENANCE_DATABASE = 'postgres';

const SQLSTATE = {
  INVALID_CATALOG_NAME: '3D000', // the database does not exist
  DUPLICATE_DATABASE: '42P04',
  UNIQUE_VIOLATION: '23505', // two CREATE DATABASE racing may meet in pg_database's unique index
} as const;

/**
 * Opens the pool on `url` (`postgres://user[:password]@host:port/database`),
 * creating the database if it does not exist and the ledger's schema if it
 * is missing, and says so through `options.log`. Safe when several
 * instances start at once.
 * @throws EventStoreUnavailableError if the server cannot be reached
 *   (within `connectTimeoutMs`); EventStoreFailedError if it refuses.
 */
export async function openPostgres(url: string, options: PostgresOptions): Promise<PostgresConnection> {
  databaseOf(url); // a malformed URL fails here, before any connection
  const target = postgresTarget(url);
  const pool = newPool(url, options);
  try {
    await ensureDatabase(pool, url, options);
    await ensureEventsSchema(pool, target, options.log);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw toPortError(error, { action: 'opening the ledger database', target });
  }
  let closing: Promise<void> | undefined;
  return {
    pool,
    target,
    close: () => (closing ??= pool.end()),
  };
}

/**
 * Every connection runs with these settings, put into the URL's `options`
 * after any the URL already has, so they win (the driver lets URL
 * parameters override its config):
 * - `synchronous_commit=on`: a commit returns only once its WAL is flushed
 *   (and, with synchronous replication, confirmed by the standby), so an
 *   acknowledged append is durable whatever the server's default says;
 * - the lock, statement and idle-in-transaction timeouts of `PostgresOptions`.
 */
function newPool(url: string, options: PostgresOptions): pg.Pool {
  const settings = { ...DEFAULTS, ...options };
  const connectionString = withSessionSettings(url, {
    synchronous_commit: 'on',
    lock_timeout: `${settings.lockTimeoutMs}ms`,
    statement_timeout: `${settings.statementTimeoutMs}ms`,
    idle_in_transaction_session_timeout: `${settings.idleInTransactionTimeoutMs}ms`,
  });
  const pool = new pg.Pool({
    connectionString,
    application_name: 'tenant-ledger',
    connectionTimeoutMillis: settings.connectTimeoutMs,
    max: settings.maxConnections,
    // TCP keepalive, so a server that vanished (no FIN, no RST) is noticed on idle connections.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // A client-side bound too: statement_timeout needs a server that answers.
    query_timeout: settings.statementTimeoutMs + 5_000,
  });
  // An idle connection fails when the server restarts or ends it; the pool
  // drops it and opens another on the next call. Without a listener the
  // error would crash the process.
  pool.on('error', (error) =>
    options.log(`an idle PostgreSQL connection to ${postgresTarget(url)} failed and was dropped: ${error.message}`),
  );
  return pool;
}

function withSessionSettings(url: string, settings: Record<string, string>): string {
  const parsed = parseUrl(url);
  const ours = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  const theirs = parsed.searchParams.get('options');
  parsed.searchParams.set('options', theirs === null ? ours : `${theirs} ${ours}`);
  return parsed.href;
}

/**
 * Connects once; if the database does not exist, creates it from the
 * maintenance database of the same server, as the same user. Another
 * instance creating it at the same moment is fine.
 */
async function ensureDatabase(pool: pg.Pool, url: string, options: PostgresOptions): Promise<void> {
  try {
    await pool.query('SELECT 1');
    return;
  } catch (error) {
    if (!(error instanceof pg.DatabaseError && error.code === SQLSTATE.INVALID_CATALOG_NAME)) throw error;
  }
  const database = databaseOf(url);
  const maintenanceUrl = parseUrl(url);
  maintenanceUrl.pathname = `/${MAINTENANCE_DATABASE}`;
  const admin = new pg.Client({
    connectionString: maintenanceUrl.href,
    application_name: 'tenant-ledger',
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
  });
  admin.on('error', () => undefined); // a failure surfaces on the query in progress
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    options.log(`created database ${postgresTarget(url)}`);
  } catch (error) {
    const createdByAnother =
      error instanceof pg.DatabaseError &&
      (error.code === SQLSTATE.DUPLICATE_DATABASE || error.code === SQLSTATE.UNIQUE_VIOLATION);
    if (!createdByAnother) {
      if (isTransientPostgresError(error)) throw error;
      throw new EventStoreFailedError(
        'failed',
        `database ${postgresTarget(url)} does not exist and could not be created: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
  await pool.query('SELECT 1');
}

/**
 * The URL, parsed. The error never quotes it (Node's own would carry it,
 * password included, in `error.input`).
 */
function parseUrl(url: string): URL {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined || !['postgres:', 'postgresql:'].includes(parsed.protocol)) {
    throw new RangeError('the PostgreSQL URL is not a postgres://user@host:port/database URL');
  }
  return parsed;
}

function databaseOf(url: string): string {
  const database = decodeURIComponent(parseUrl(url).pathname.slice(1));
  if (database === '') throw new RangeError('the PostgreSQL URL names no database (postgres://…/tenant_ledger)');
  return database;
}

/** `tenant_ledger on 127.0.0.1:5432`: the database and server of `url`, never its credentials. */
export function postgresTarget(url: string): string {
  const parsed = parseUrl(url);
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  return `${decodeURIComponent(parsed.pathname.slice(1))} on ${host}:${parsed.port || '5432'}`;
}

/** `url` with its password, if any, replaced by `***`: for messages that must show the URL. */
export function redactPostgresUrl(url: string): string {
  const parsed = parseUrl(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}
