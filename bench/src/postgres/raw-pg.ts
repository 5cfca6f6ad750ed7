import pg from 'pg';
import { openPostgres } from '../../../src/event-store/postgres/postgres.connection.js';
import { ensureEventsSchema } from '../../../src/event-store/postgres/postgres.schema.js';
import { warmPool } from './databases.js';
import type { PgRow } from './ledger.js';

/**
 * The practical limit on PostgreSQL: the driver (`pg`) inserting the very
 * rows our store writes (already sealed, hashed and serialised) into the
 * same table, created by the product's own schema code (same columns,
 * identity, unique indexes and triggers), with the same durability
 * (`synchronous_commit = on`). No lock, no head read, no version check.
 */
export interface RawPg {
  pool: pg.Pool;
  /** One row, one autocommit INSERT: a durable commit each. */
  insertOne(row: PgRow): Promise<void>;
  /** Many rows in one statement (`unnest`, as our store inserts), on a connection in a transaction or on the pool. */
  insertMany(db: pg.Pool | pg.PoolClient, rows: readonly PgRow[]): Promise<void>;
  /** Every row of each stream, in one query. */
  readStreams(db: pg.Pool | pg.PoolClient, streamIds: readonly string[]): Promise<unknown[]>;
  /** Drops the table and creates it again with the product's DDL: an empty ledger. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const quiet = (): void => undefined;

const COLUMNS = 'stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at';

/** Opens a pool of `connections` (all of them already open) on `url`, creating the ledger's table if missing. */
export async function openRawPg(url: string, connections: number): Promise<RawPg> {
  await (await openPostgres(url, { log: quiet, maxConnections: 1 })).close();
  const pool = new pg.Pool({ connectionString: url, max: connections, options: '-c synchronous_commit=on' });
  pool.on('error', () => undefined); // an idle connection ended by the server: the next call opens another
  await warmPool(pool, connections);
  return {
    pool,
    async insertOne(row) {
      await pool.query({
        name: 'raw-insert-one',
        text: `INSERT INTO events (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        values: [
          row.streamId,
          row.version,
          row.eventId,
          row.type,
          row.data,
          row.metadata,
          row.prevHash,
          row.hash,
          row.occurredAt,
        ],
      });
    },
    async insertMany(db, rows) {
      await db.query({
        name: 'raw-insert-many',
        text: `INSERT INTO events (${COLUMNS})
               SELECT ${COLUMNS} FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                 $7::text[], $8::text[], $9::bigint[]) AS e(${COLUMNS})`,
        values: [
          rows.map((row) => row.streamId),
          rows.map((row) => row.version),
          rows.map((row) => row.eventId),
          rows.map((row) => row.type),
          rows.map((row) => row.data),
          rows.map((row) => row.metadata),
          rows.map((row) => row.prevHash),
          rows.map((row) => row.hash),
          rows.map((row) => row.occurredAt),
        ],
      });
    },
    async readStreams(db, streamIds) {
      const { rows } = await db.query({
        name: 'raw-read-streams',
        text: `SELECT position, ${COLUMNS} FROM events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version`,
        values: [streamIds],
      });
      return rows;
    },
    async reset() {
      await pool.query('DROP TABLE events');
      await ensureEventsSchema(pool, url, quiet);
    },
    close: () => pool.end(),
  };
}
