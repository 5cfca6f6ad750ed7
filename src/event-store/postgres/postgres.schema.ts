import type pg from 'pg';
import { withConnection } from './postgres.client.js';

/**
 * The ledger's objects in its PostgreSQL database: the events table, the
 * advisory locks every instance agrees on, and the channel that announces
 * commits. One place, so two pieces of the ledger never pick the same lock.
 */

/** First key of every advisory lock the ledger takes ('Ledg'); the second names the lock. */
export const LEDGER_LOCK_SPACE = 0x4c656467;

export const LEDGER_LOCKS = {
  /** Held by every append from before its positions are taken until it commits (see `postgres.appends.ts`). */
  appends: 1,
  /** Held while creating a missing table, so instances starting together create it once. */
  schema: 2,
} as const;

/** NOTIFY channel: every append announces its commit here (delivered on commit, never before). */
export const COMMITS_CHANNEL = 'ledger_events';

/**
 * The events table. The triggers make a stray UPDATE, DELETE or TRUNCATE by
 * an operator fail loudly; they do not stop a deliberate tamperer (who can
 * drop them, as the owner), which is what the hash chain is for.
 */
const EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  -- The global order (see postgres.appends.ts for why it never skips). An
  -- identity, not max + 1: a position is never reused, even if the newest
  -- rows are removed by hand. A rolled-back append leaves a gap, which is
  -- harmless: positions are ordered, never counted.
  position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- "C" (byte order): the index never depends on the operating system's
  -- collation library, whose upgrades may reorder text and corrupt indexes.
  stream_id   text COLLATE "C" NOT NULL,
  version     integer NOT NULL CHECK (version >= 1),
  event_id    uuid NOT NULL,
  type        text NOT NULL,
  -- JSON as text, not jsonb: text gives back byte for byte what was
  -- written, so the events read are those that were hashed. jsonb rewrites
  -- what it stores (key order, spacing, duplicate keys) and refuses some
  -- valid JSON strings (an escaped NUL, \\u0000).
  data        text NOT NULL,
  metadata    text NOT NULL,
  prev_hash   text NOT NULL,
  hash        text NOT NULL,
  -- metadata.occurredAt in ms since the epoch, for toTime reads.
  occurred_at bigint NOT NULL,
  CONSTRAINT events_stream_version_unique UNIQUE (stream_id, version),
  CONSTRAINT events_event_id_unique UNIQUE (event_id)
);
CREATE OR REPLACE FUNCTION ledger_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger events are %',
    CASE TG_OP WHEN 'UPDATE' THEN 'immutable' WHEN 'DELETE' THEN 'never deleted' ELSE 'never truncated' END;
END $$;
CREATE OR REPLACE TRIGGER events_are_immutable BEFORE UPDATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_refuse_change();
CREATE OR REPLACE TRIGGER events_are_never_deleted BEFORE DELETE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_refuse_change();
CREATE OR REPLACE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_refuse_change();
`;

export interface TableSchema {
  /** The table whose absence means "create": `events`. */
  table: string;
  /** What the log calls it: `the ledger's events table`. */
  description: string;
  /** Statements that create the table and what belongs to it. */
  ddl: string;
}

/**
 * Creates `schema.table` with its DDL if it is missing, in one transaction
 * under the schema lock: instances starting together create it once (a
 * concurrent CREATE TABLE IF NOT EXISTS can fail on the catalog's unique
 * indexes), and DDL being transactional, a failed start leaves nothing half
 * made. Logs when it created the table.
 */
export async function createTableOnce(
  pool: pg.Pool,
  schema: TableSchema,
  target: string,
  log: (message: string) => void,
): Promise<void> {
  await withConnection(pool, async (client, discard) => {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${LEDGER_LOCKS.schema})`);
      const { rows } = await client.query<{ missing: boolean }>('SELECT to_regclass($1) IS NULL AS missing', [
        schema.table,
      ]);
      const missing = rows[0]?.missing === true;
      if (missing) await client.query(schema.ddl);
      await client.query('COMMIT');
      if (missing) log(`created ${schema.description} in ${target}`);
    } catch (error) {
      await client.query('ROLLBACK').catch(discard);
      throw error;
    }
  });
}

export function ensureEventsSchema(pool: pg.Pool, target: string, log: (message: string) => void): Promise<void> {
  return createTableOnce(
    pool,
    { table: 'events', description: "the ledger's events table", ddl: EVENTS_SCHEMA },
    target,
    log,
  );
}
