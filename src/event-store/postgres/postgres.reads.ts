import type pg from 'pg';
import { type EventRow, parseSequencePosition, storedEventOf, streamRange } from '../adapter-kit.js';
import type { StoredEvent, StreamHead } from '../event-envelope.js';
import type { ReadStreamOptions } from '../event-store.port.js';

/** A pool or a connection in a transaction: anything that runs a query. */
export type Queryable = pg.Pool | pg.ClientBase;

const EVENT_COLUMNS = 'position, stream_id, version, event_id, type, data, metadata, prev_hash, hash';

/**
 * One row as the driver returns it: `bigint` columns come back as decimal
 * strings (the driver's default for int8), which is what a position is.
 */

export interface StoredHead extends StreamHead {
  position: string;
}

/**
 * The reads of the PostgreSQL adapter, each one statement (named, so each
 * connection plans it once). Every one is an index scan: `(stream_id,
 * version)` for a stream, the primary key for the global order, filtered to
 * the streams the store shows (`^@` is "starts with", without LIKE's
 * wildcards: `_` is one).
 */
export class PostgresReads {
  constructor(private readonly prefixes: readonly string[]) {}

  /** The last event of each stream that exists, by stream id. */
  async headsOf(db: Queryable, streamIds: readonly string[]): Promise<Map<string, StoredHead>> {
    const { rows } = await db.query<{ stream_id: string; version: number; hash: string; position: string }>({
      name: 'ledger-heads',
      text: `SELECT s.stream_id, h.version, h.hash, h.position
             FROM unnest($1::text[]) AS s(stream_id)
             CROSS JOIN LATERAL (
               SELECT version, hash, position FROM events e
               WHERE e.stream_id = s.stream_id ORDER BY version DESC LIMIT 1
             ) h`,
      values: [streamIds],
    });
    return new Map(
      rows.map((row) => [row.stream_id, { version: row.version, hash: row.hash, position: row.position }]),
    );
  }

  async streamVersion(db: Queryable, streamId: string): Promise<number> {
    const { rows } = await db.query<{ version: number }>({
      name: 'ledger-stream-version',
      text: 'SELECT version FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1',
      values: [streamId],
    });
    return rows[0]?.version ?? 0;
  }

  async readStream(db: Queryable, streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]> {
    const { afterVersion, toVersion, toTimeMs, limit } = streamRange(options);
    const { rows } = await db.query<EventRow>({
      name: 'ledger-read-stream',
      text: `SELECT ${EVENT_COLUMNS} FROM events
             WHERE stream_id = $1 AND version > $2::bigint AND version <= $3::bigint AND occurred_at <= $4::bigint
             ORDER BY version LIMIT $5`,
      // LIMIT NULL is no limit.
      values: [streamId, afterVersion, toVersion, toTimeMs, limit === -1 ? null : limit],
    });
    return rows.map(storedEventOf);
  }

  /** The ids and positions of up to `limit` events of a stream after `afterVersion` (the retry rule's check). */
  async following(
    db: Queryable,
    streamId: string,
    afterVersion: number,
    limit: number,
  ): Promise<{ eventId: string; position: string }[]> {
    const { rows } = await db.query<{ eventId: string; position: string }>({
      name: 'ledger-following',
      text: `SELECT event_id AS "eventId", position FROM events
             WHERE stream_id = $1 AND version > $2 ORDER BY version LIMIT $3`,
      values: [streamId, afterVersion, limit],
    });
    return rows;
  }

  /** Which of `eventIds` are stored already. */
  async storedEventIds(db: Queryable, eventIds: readonly string[]): Promise<Set<string>> {
    const { rows } = await db.query<{ event_id: string }>({
      name: 'ledger-stored-event-ids',
      text: 'SELECT event_id FROM events WHERE event_id = ANY($1::uuid[])',
      values: [eventIds],
    });
    return new Set(rows.map((row) => row.event_id));
  }

  async readAll(db: Queryable, after: string | undefined, limit: number): Promise<StoredEvent[]> {
    const afterPosition = after === undefined ? 0 : parseSequencePosition(after);
    const { rows } = await db.query<EventRow>({
      name: 'ledger-read-all',
      text: `SELECT ${EVENT_COLUMNS} FROM events
             WHERE position > $1 AND stream_id ^@ ANY($2::text[]) ORDER BY position LIMIT $3`,
      values: [afterPosition, this.prefixes, limit],
    });
    return rows.map(storedEventOf);
  }

  async lastPosition(db: Queryable): Promise<string | undefined> {
    const { rows } = await db.query<{ position: string }>({
      name: 'ledger-last-position',
      text: 'SELECT position FROM events WHERE stream_id ^@ ANY($1::text[]) ORDER BY position DESC LIMIT 1',
      values: [this.prefixes],
    });
    return rows[0]?.position;
  }
}
