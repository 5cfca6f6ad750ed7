import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Throwaway databases on the benchmark's PostgreSQL server: every figure of
 * the postgres suite is measured on databases created for it and dropped
 * afterwards, never on one that holds anything else. The server itself is
 * never stopped or reconfigured.
 */

/** A user that may create and drop databases (trust authentication on this machine's server). */
export const BENCH_POSTGRES_URL =
  process.env['LEDGER_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  /** `tl_bench_<label>_<random>` */
  name: string;
  url: string;
  /** Drops it, ending every connection still open on it. Idempotent. */
  drop(): Promise<void>;
}

/** Why the server cannot be used, or undefined if it answers. */
export async function postgresUnreachable(): Promise<string | undefined> {
  try {
    await asAdmin((client) => client.query('SELECT 1'));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.constructor.name : String(error);
  }
}

/** A new, empty database. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `tl_bench_${label}_${randomBytes(4).toString('hex')}`;
  await asAdmin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(BENCH_POSTGRES_URL);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    name,
    url: url.href,
    drop: () =>
      (dropping ??= asAdmin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      })),
  };
}

/** Creates the databases, runs `work` on them and drops them, whatever happens. */
export async function withBenchDatabases<T>(
  labels: readonly string[],
  work: (databases: BenchDatabase[]) => Promise<T>,
): Promise<T> {
  const databases: BenchDatabase[] = [];
  try {
    for (const label of labels) databases.push(await createBenchDatabase(label));
    return await work(databases);
  } finally {
    for (const database of databases) await database.drop();
  }
}

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined); // a failure surfaces on the query in progress
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Opens `connections` connections of the pool at once and gives them back, so no timed call opens one. */
export async function warmPool(pool: pg.Pool, connections: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  for (const client of clients) client.release();
}

/** Runs `work` on every item with `callers` callers at once, each taking the next item when it is done. */
export async function inParallel<T>(
  items: readonly T[],
  callers: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const caller = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(callers, items.length) }, caller));
}

/** The server's version and the settings a durable commit depends on, for the results' facts. */
export async function serverFacts(): Promise<string> {
  return asAdmin(async (client) => {
    const { rows } = await client.query<{ version: string; sync: string; fsync: string; method: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync,
              current_setting('fsync') AS fsync, current_setting('wal_sync_method') AS method`,
    );
    const row = rows[0]!;
    return `PostgreSQL ${row.version} on ${new URL(BENCH_POSTGRES_URL).host}, synchronous_commit=${row.sync}, fsync=${row.fsync}, wal_sync_method=${row.method}`;
  });
}
