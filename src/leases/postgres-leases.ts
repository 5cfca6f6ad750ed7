import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PostgresConnection } from '../event-store/postgres/postgres.connection.js';
import { toPortError } from '../event-store/postgres/postgres.errors.js';
import { createTableOnce } from '../event-store/postgres/postgres.schema.js';
import type { Leases } from './leases.port.js';

const SCHEMA = `
CREATE TABLE leases (
  name       text PRIMARY KEY,
  holder     text NOT NULL,
  expires_at timestamptz NOT NULL
);
`;

/**
 * Leases in the shared database. Expiry is judged by the database's clock
 * (`now()`), never by an instance's: instances whose clocks disagree still
 * agree on who holds a lease. One statement takes, renews or refuses, so
 * two instances asking at once cannot both get it.
 */
export class PostgresLeases implements Leases {
  /** This process, as lease holder: unique per start, readable in the table. */
  readonly holder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

  /** Creates the lease table if it is missing (saying so), then opens the leases on the connection's pool. */
  static async open(
    connection: Pick<PostgresConnection, 'pool' | 'target'>,
    log: (message: string) => void,
  ): Promise<PostgresLeases> {
    try {
      await createTableOnce(
        connection.pool,
        { table: 'leases', description: 'the lease table', ddl: SCHEMA },
        connection.target,
        log,
      );
    } catch (error) {
      throw toPortError(error, { action: 'creating the lease table', target: connection.target });
    }
    return new PostgresLeases(connection);
  }

  private constructor(private readonly connection: Pick<PostgresConnection, 'pool' | 'target'>) {}

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      `INSERT INTO leases AS lease (name, holder, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE lease.holder = excluded.holder OR lease.expires_at <= now()`,
      [name, this.holder, ttlMs],
    );
    return rowCount === 1;
  }

  async release(name: string): Promise<void> {
    await this.#query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, this.holder]);
  }

  /** Driver errors leave as the port's errors: an unreachable server is EventStoreUnavailableError. */
  async #query(text: string, values: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.connection.pool.query(text, values);
    } catch (error) {
      throw toPortError(error, { action: 'asking for a lease', target: this.connection.target });
    }
  }
}
