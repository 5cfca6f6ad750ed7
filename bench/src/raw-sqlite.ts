import Database from 'better-sqlite3';
import { EMPTY_STREAM_HEAD, chainEvents, type NewEvent } from '../../src/event-store/event-envelope.js';
import { SqliteEventStore, type SqliteEventRow } from '../../src/event-store/sqlite/sqlite-event-store.js';

/**
 * The practical limit: better-sqlite3 inserting the very rows our store
 * writes (already sealed, hashed and serialised) into the same table, with
 * the same indexes, triggers and durability (WAL, synchronous=FULL), using
 * one prepared statement.
 */
export type RawRow = SqliteEventRow;

/** The rows a fresh stream of `events` becomes, exactly as SqliteEventStore writes them. */
export function rawRows(streamId: string, events: readonly NewEvent[]): RawRow[] {
  return chainEvents(streamId, EMPTY_STREAM_HEAD, events).map((event) => ({
    stream_id: event.streamId,
    version: event.version,
    event_id: event.eventId,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
    prev_hash: event.prevHash,
    hash: event.hash,
    occurred_at: Date.parse(event.metadata.occurredAt),
  }));
}

export interface RawLedger {
  /** All rows in one transaction. */
  insertAll(rows: readonly RawRow[]): void;
  /** Each row in its own transaction (a durable commit per row). */
  insertEach(rows: readonly RawRow[]): void;
  close(): void;
}

/** Creates the ledger schema in `file` (by opening our store once), then opens it raw. */
export async function openRawLedger(file: string): Promise<RawLedger> {
  await new SqliteEventStore(file).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const insert = db.prepare(
    `INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at)
     VALUES (@stream_id, @version, @event_id, @type, @data, @metadata, @prev_hash, @hash, @occurred_at)`,
  );
  const insertMany = db.transaction((rows: readonly RawRow[]) => {
    for (const row of rows) insert.run(row);
  });
  return {
    insertAll: (rows) => insertMany.immediate(rows),
    insertEach: (rows) => {
      for (const row of rows) insertMany.immediate([row]);
    },
    close: () => db.close(),
  };
}
