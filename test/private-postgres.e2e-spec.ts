import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { havePostgresBinaries, type PrivatePostgres, startPrivatePostgres } from './support/private-postgres.js';

/** The private server the fault tests stop and start (issue 10, point 6), checked on its own. */
describe.skipIf(!havePostgresBinaries())('a private PostgreSQL server', () => {
  let server: PrivatePostgres | undefined;
  afterAll(async () => {
    await server?.destroy();
  });

  async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  }

  it('keeps a committed row across an immediate stop, refuses connections while stopped, and leaves nothing when destroyed', async () => {
    server = await startPrivatePostgres();
    const { port, url, folder } = server;
    expect(port).not.toBe(5432);
    expect(url).toBe(`postgres://postgres@127.0.0.1:${port}/postgres`);
    const [settings] = await query<{ listen: string; fsync: string; socket: string }>(
      url,
      "SELECT current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync, current_setting('unix_socket_directories') AS socket",
    );
    expect(settings).toEqual({ listen: '127.0.0.1', fsync: 'on', socket: folder });

    await query(url, 'CREATE TABLE kept (id int PRIMARY KEY, note text)');
    await query(url, "INSERT INTO kept VALUES (1, 'committed before the crash')");

    await server.stop('immediate');
    await expect(query(url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);

    await server.start();
    expect(server.port).toBe(port);
    expect(await query(url, 'SELECT id, note FROM kept')).toEqual([{ id: 1, note: 'committed before the crash' }]);

    await server.destroy();
    await expect(query(url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    expect(existsSync(folder)).toBe(false);
  });
});
