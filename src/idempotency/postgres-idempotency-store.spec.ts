import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresConnection } from '../event-store/postgres/postgres.connection.js';
import { createTestDatabase, postgresForTests, withRawConnection, type TestDatabase } from '../testing/postgres.js';
import { describeIdempotencyStoreContract } from './idempotency-store.contract.js';
import type { IdempotencyStore } from './idempotency.port.js';
import { PostgresIdempotencyStore } from './postgres-idempotency-store.js';

const hasPostgres = await postgresForTests();

describe.skipIf(!hasPostgres)('PostgreSQL idempotency store (server at LEDGER_TEST_POSTGRES_URL)', () => {
  let db: TestDatabase;
  const logged: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describeIdempotencyStoreContract(
    'postgres',
    async () => {
      const connections: PostgresConnection[] = [];
      const open = async (): Promise<IdempotencyStore> => {
        const connection = await openPostgres(db.url, { log: () => undefined });
        connections.push(connection);
        return PostgresIdempotencyStore.open(connection, (message) => logged.push(message));
      };
      // Two pools: two instances on one database.
      const [store, other] = [await open(), await open()];
      return {
        store,
        other,
        reopen: async () => {
          await connections[0]?.close();
          return open();
        },
        cleanup: async () => {
          for (const each of connections) await each.close();
        },
      };
    },
    { durable: true },
  );

  it('created its table once and said so', async () => {
    expect(logged.filter((line) => line.startsWith('created the idempotency key table in tl_test_'))).toHaveLength(1);
    const { rows } = await withRawConnection(db.url, (raw) =>
      raw.query<{ name: string }>(`SELECT to_regclass('idempotency_keys')::text AS name`),
    );
    expect(rows[0]?.name).toBe('idempotency_keys');
  });
});
