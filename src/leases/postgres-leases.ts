import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Leases } from './leases.port.js';

/** Idempotent; run by the PostgreSQL schema set-up with the rest of the schema. */
export const LEASES_SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_leases (
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

  constructor(private readonly pool: pg.Pool) {}

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO ledger_leases AS lease (name, holder, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE lease.holder = excluded.holder OR lease.expires_at <= now()`,
      [name, this.holder, ttlMs],
    );
    return rowCount === 1;
  }

  async release(name: string): Promise<void> {
    await this.pool.query('DELETE FROM ledger_leases WHERE name = $1 AND holder = $2', [name, this.holder]);
  }
}
