import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { LedgerConfig } from '../../src/config/ledger-config.js';
import type { EventMetadata } from '../../src/event-store/event-envelope.js';
import { withRawConnection } from '../../src/testing/postgres.js';

/**
 * An attacker with write access to the ledger's storage, beside the
 * service: its own connection, without the guard triggers (which stop
 * mistakes, not a deliberate tamperer). For tests of what the hash chain
 * catches, on whichever store the app runs.
 */
export interface Tamperer {
  /** Sets one top-level field of an event's data. */
  editData(eventId: string, field: string, value: string): Promise<void>;
  /** Replaces an event's metadata and hash (a forger who recomputed the event's own hash). */
  forge(eventId: string, metadata: EventMetadata, hash: string): Promise<void>;
  /** Sets an event's prevHash and hash (a forger re-linking the events after one it rewrote). */
  relink(eventId: string, prevHash: string, hash: string): Promise<void>;
  /** Removes an event. */
  remove(eventId: string): Promise<void>;
}

export function tampererOf(config: LedgerConfig): Tamperer {
  return config.store === 'postgres' ? postgresTamperer(config.postgresUrl) : sqliteTamperer(config.dataDir);
}

function sqliteTamperer(dataDir: string): Tamperer {
  const run = async (sql: string, ...params: string[]): Promise<void> => {
    const db = new Database(join(dataDir, 'ledger.db'));
    try {
      db.exec('DROP TRIGGER IF EXISTS events_are_immutable; DROP TRIGGER IF EXISTS events_are_never_deleted');
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  };
  return {
    editData: (eventId, field, value) =>
      run(`UPDATE events SET data = json_set(data, '$.' || ?, ?) WHERE event_id = ?`, field, value, eventId),
    forge: (eventId, metadata, hash) =>
      run('UPDATE events SET metadata = ?, hash = ? WHERE event_id = ?', JSON.stringify(metadata), hash, eventId),
    relink: (eventId, prevHash, hash) =>
      run('UPDATE events SET prev_hash = ?, hash = ? WHERE event_id = ?', prevHash, hash, eventId),
    remove: (eventId) => run('DELETE FROM events WHERE event_id = ?', eventId),
  };
}

function postgresTamperer(url: string): Tamperer {
  const run = (sql: string, ...params: string[]): Promise<void> =>
    withRawConnection(url, async (client) => {
      await client.query('BEGIN');
      await client.query('ALTER TABLE events DISABLE TRIGGER USER');
      await client.query(sql, params);
      await client.query('ALTER TABLE events ENABLE TRIGGER USER');
      await client.query('COMMIT');
    });
  return {
    editData: (eventId, field, value) =>
      run(
        `UPDATE events SET data = jsonb_set(data::jsonb, ARRAY[$1], to_jsonb($2::text))::text WHERE event_id = $3`,
        field,
        value,
        eventId,
      ),
    forge: (eventId, metadata, hash) =>
      run('UPDATE events SET metadata = $1, hash = $2 WHERE event_id = $3', JSON.stringify(metadata), hash, eventId),
    relink: (eventId, prevHash, hash) =>
      run('UPDATE events SET prev_hash = $1, hash = $2 WHERE event_id = $3', prevHash, hash, eventId),
    remove: (eventId) => run('DELETE FROM events WHERE event_id = $1', eventId),
  };
}
