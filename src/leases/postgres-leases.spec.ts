import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { openPostgres, type PostgresConnection } from '../event-store/postgres/postgres.connection.js';
import { pollUntil } from '../testing/poll-until.js';
import { createTestDatabase, postgresForTests, withRawConnection, type TestDatabase } from '../testing/postgres.js';
import { PostgresLeases } from './postgres-leases.js';

const hasPostgres = await postgresForTests();

/** Two instances' leases on one database: each has its own pool, as separate processes do. */
describe.skipIf(!hasPostgres)('PostgresLeases (server at LEDGER_TEST_POSTGRES_URL)', () => {
  let db: TestDatabase;
  const connections: PostgresConnection[] = [];
  let a: PostgresLeases;
  let b: PostgresLeases;
  const logged: string[] = [];

  const instance = async (): Promise<PostgresLeases> => {
    const connection = await openPostgres(db.url, { log: () => undefined });
    connections.push(connection);
    return PostgresLeases.open(connection, (message) => logged.push(message));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    [a, b] = await Promise.all([instance(), instance()]);
  });
  afterAll(async () => {
    for (const connection of connections) await connection.close();
    await db?.drop();
  });

  it('creates its table once, though two instances open at the same moment', () => {
    expect(logged.filter((line) => line.startsWith('created the lease table'))).toHaveLength(1);
  });

  it('one holder at a time; the holder renews; a release hands it over at once', async () => {
    expect(await a.acquire('job-1', 60_000)).toBe(true);
    expect(await b.acquire('job-1', 60_000)).toBe(false);
    expect(await a.acquire('job-1', 60_000)).toBe(true); // renewal
    await b.release('job-1'); // not b's to release
    expect(await b.acquire('job-1', 60_000)).toBe(false);
    await a.release('job-1');
    expect(await b.acquire('job-1', 60_000)).toBe(true);
    expect(await a.acquire('job-1', 60_000)).toBe(false);
  });

  it('many instances asking at once: exactly one gets it', async () => {
    const many = await Promise.all(Array.from({ length: 6 }, () => instance()));
    const answers = await Promise.all(many.map((leases) => leases.acquire('job-2', 60_000)));
    expect(answers.filter(Boolean)).toHaveLength(1);
  });

  it('a lease nobody renews lapses after its ttl, by the database clock, and another instance takes it', async () => {
    expect(await a.acquire('job-3', 300)).toBe(true);
    expect(await b.acquire('job-3', 300)).toBe(false);
    await pollUntil(() => b.acquire('job-3', 60_000), {
      what: 'the lease to lapse',
      done: (held) => held,
      timeoutMs: 5_000,
    });
    const { rows } = await withRawConnection(db.url, (raw) =>
      raw.query<{ holder: string; left: number }>(
        `SELECT holder, extract(epoch FROM expires_at - now()) AS left FROM leases WHERE name = 'job-3'`,
      ),
    );
    expect(rows[0]?.holder).toBe(b.holder);
    expect(Number(rows[0]?.left)).toBeGreaterThan(50);
    expect(await a.acquire('job-3', 300)).toBe(false);
  });

  it('an unreachable database is EventStoreUnavailableError, never a driver error', async () => {
    const connection = await openPostgres(db.url, { log: () => undefined });
    const leases = await PostgresLeases.open(connection, () => undefined);
    await connection.close();
    await expect(leases.acquire('job-4', 1_000)).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });
});
