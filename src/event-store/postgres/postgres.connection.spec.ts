import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  dropTestDatabase,
  newTestDatabaseName,
  postgresForTests,
  testDatabaseUrl,
  withRawConnection,
} from '../../testing/postgres.js';
import { freePort } from '../../testing/free-port.js';
import { EventStoreUnavailableError } from '../event-store.errors.js';
import { openPostgres, postgresTarget, redactPostgresUrl } from './postgres.connection.js';

const hasPostgres = await postgresForTests();

describe('postgresTarget and redactPostgresUrl', () => {
  it('name the database and server, never the password', () => {
    const url = 'postgres://ledger:s3cret@db.example:6543/tenant_ledger?sslmode=require';
    expect(postgresTarget(url)).toBe('tenant_ledger on db.example:6543');
    expect(postgresTarget('postgres://postgres@127.0.0.1/tenant_ledger')).toBe('tenant_ledger on 127.0.0.1:5432');
    expect(redactPostgresUrl(url)).toBe('postgres://ledger:***@db.example:6543/tenant_ledger?sslmode=require');
    expect(redactPostgresUrl('postgres://postgres@127.0.0.1:5432/x')).toBe('postgres://postgres@127.0.0.1:5432/x');
  });
});

describe('openPostgres without a server', () => {
  it.each([
    ['not a URL', 'ledger:s3cret@db/tenant_ledger'],
    ['another scheme', 'mysql://ledger:s3cret@db/tenant_ledger'],
    ['no database', 'postgres://ledger:s3cret@db:5432/'],
  ])('refuses a URL that is %s before connecting, without quoting it', async (_case, url) => {
    const error = await openPostgres(url, { log: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).not.toContain('s3cret');
  });

  it('fails fast with EventStoreUnavailableError on a closed port, never showing the password', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await openPostgres(`postgres://ledger:s3cret@127.0.0.1:${port}/tenant_ledger`, {
      log: () => undefined,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toContain(`tenant_ledger on 127.0.0.1:${port}`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain('s3cret');
    // A deadline, not a timing figure: well below any request timeout.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('fails with EventStoreUnavailableError once connectTimeoutMs passes on a server that never answers', async () => {
    // Accepts TCP connections and says nothing, like a host behind a broken network path.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const error = await openPostgres(`postgres://postgres@127.0.0.1:${port}/tenant_ledger`, {
        log: () => undefined,
        connectTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).message).toMatch(/timeout/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe.skipIf(!hasPostgres)('openPostgres (server at LEDGER_TEST_POSTGRES_URL)', () => {
  it('creates a missing database and its schema, says so, and opens it again quietly', async () => {
    const name = newTestDatabaseName();
    const url = testDatabaseUrl(name);
    const logged: string[] = [];
    try {
      const first = await openPostgres(url, { log: (message) => logged.push(message) });
      await first.close();
      const target = postgresTarget(url);
      expect(logged).toEqual([`created database ${target}`, `created the ledger's events table in ${target}`]);

      const again = await openPostgres(url, { log: (message) => logged.push(message) });
      await again.close();
      expect(logged).toHaveLength(2);
    } finally {
      await dropTestDatabase(name);
    }
  });

  it('creates the database and schema once when several instances start at the same moment', async () => {
    const name = newTestDatabaseName();
    const logged: string[] = [];
    try {
      const opened = await Promise.all(
        Array.from({ length: 4 }, () =>
          openPostgres(testDatabaseUrl(name), { log: (message) => logged.push(message) }),
        ),
      );
      await Promise.all(opened.map((connection) => connection.close()));
      expect(logged.filter((line) => line.startsWith('created database'))).toHaveLength(1);
      expect(logged.filter((line) => line.includes('events table'))).toHaveLength(1);
      const tables = await withRawConnection(testDatabaseUrl(name), async (raw) => {
        const { rows } = await raw.query<{ triggers: string }>(
          `SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal`,
        );
        return rows[0]?.triggers;
      });
      expect(tables).toBe('3');
    } finally {
      await dropTestDatabase(name);
    }
  });

  it("keeps synchronous_commit on even when the URL's own options turn it off", async () => {
    const name = newTestDatabaseName();
    const url = new URL(testDatabaseUrl(name));
    url.searchParams.set('options', '-c synchronous_commit=off -c work_mem=8MB');
    try {
      const connection = await openPostgres(url.href, { log: () => undefined });
      const { rows } = await connection.pool.query<{ sync: string; mem: string }>(
        `SELECT current_setting('synchronous_commit') AS sync, current_setting('work_mem') AS mem`,
      );
      await connection.close();
      expect(rows[0]).toEqual({ sync: 'on', mem: '8MB' });
    } finally {
      await dropTestDatabase(name);
    }
  });
});
