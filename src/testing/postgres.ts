import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactPostgresUrl } from '../event-store/postgres/postgres.connection.js';

/**
 * PostgreSQL for specs and e2e tests: one throwaway database per suite or
 * per app, on the server of `LEDGER_TEST_POSTGRES_URL`.
 *
 *   const hasPostgres = await postgresForTests();       // top of the spec file
 *   describe.skipIf(!hasPostgres)('…', () => {
 *     let db: TestDatabase;
 *     beforeAll(async () => (db = await createTestDatabase()));
 *     afterAll(() => db.drop());
 *     // LEDGER_POSTGRES_URL = db.url, or openPostgres(db.url, …)
 *   });
 */

/** A user that may create and drop databases, on the server the tests use. */
export const TEST_POSTGRES_URL =
  process.env['LEDGER_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Set to 1 (CI) to make a missing server fail the suites instead of skipping them. */
const REQUIRE_POSTGRES = process.env['LEDGER_REQUIRE_POSTGRES'] === '1';

const CONNECT_TIMEOUT_MS = 2_000;

/** Per process, not per spec file: vitest loads modules again for every file, globalThis stays. */
interface ProcessState {
  probe?: Promise<string | undefined>;
  skipPrinted?: boolean;
}
const state: ProcessState = ((globalThis as { [key: symbol]: ProcessState })[
  Symbol.for('tenant-ledger.testing.postgres')
] ??= {});

/**
 * The answer of the first probe of a test run, handed down to the worker
 * processes vitest starts afterwards (they inherit the environment), so a
 * run probes once and says `skipped: …` once, not once per spec file.
 */
const PROBED = 'LEDGER_TEST_POSTGRES_PROBED';

/**
 * Whether the test server answers (checked once per run, with a short
 * timeout: vitest.config.ts asks first). When it does not: with
 * `LEDGER_REQUIRE_POSTGRES=1` throws, naming the reason, so the run fails;
 * otherwise prints one line, `skipped: no PostgreSQL at <url> (<reason>)`,
 * and answers false for `describe.skipIf`.
 */
export async function postgresForTests(): Promise<boolean> {
  const probed = process.env[PROBED];
  if (probed !== undefined) return probed === 'available';
  const reason = await (state.probe ??= probe());
  process.env[PROBED] = reason === undefined ? 'available' : 'unavailable';
  if (reason === undefined) return true;
  const message = `no PostgreSQL at ${redactPostgresUrl(TEST_POSTGRES_URL)} (${reason})`;
  if (REQUIRE_POSTGRES) throw new Error(`${message}; LEDGER_REQUIRE_POSTGRES=1 requires one`);
  if (state.skipPrinted !== true) {
    state.skipPrinted = true;
    console.warn(`skipped: ${message}`);
  }
  return false;
}

/** undefined if the server answers; otherwise why not. */
async function probe(): Promise<string | undefined> {
  try {
    await asAdmin((client) => client.query('SELECT 1'));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.constructor.name : String(error);
  }
}

/** A database of the test server that exists until `drop()`. */
export interface TestDatabase {
  /** `tl_test_<random>` */
  name: string;
  /** Its URL, with the test server's credentials. */
  url: string;
  /** Drops it, ending any connection still open on it. Idempotent. */
  drop(): Promise<void>;
}

/** Creates a fresh, empty database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = newTestDatabaseName();
  await asAdmin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return { name, url: testDatabaseUrl(name), drop: () => dropTestDatabase(name) };
}

/** A name for a database that does not exist yet (for tests of creating one): `tl_test_<random>`. */
export function newTestDatabaseName(): string {
  return `tl_test_${randomBytes(6).toString('hex')}`;
}

/** The URL of database `name` on the test server, with its credentials. */
export function testDatabaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}

/** Drops database `name` if it exists, ending its connections (`WITH (FORCE)`). */
export async function dropTestDatabase(name: string): Promise<void> {
  await asAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Runs `work` on a connection to the test server's admin database (superuser on the default server). */
export function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withRawConnection(TEST_POSTGRES_URL, work);
}

/** Runs `work` on a plain connection to database `url` (raw SQL beside the stores), closed afterwards. */
export async function withRawConnection<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined); // a failure surfaces on the query in progress
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
