import type { Event } from '@event-driven-io/emmett';
import {
  appendToStream,
  createEventStoreSchema,
  getSQLiteEventStore,
  sqliteConnection,
  type SQLiteConnection,
  type SQLiteEventStore,
} from '@event-driven-io/emmett-sqlite';
import type { JsonObject } from '../../src/common/json.js';
import type { NewEvent } from '../../src/event-store/event-envelope.js';

/**
 * The peer: Emmett's SQLite event store (@event-driven-io/emmett-sqlite
 * 0.38.5 on node-sqlite3), given the same events we store. Its connection
 * is set to the same durability as ours (WAL, synchronous=FULL), so a
 * commit means the same thing on both sides.
 */
export type PeerEvent = Event<string, JsonObject, JsonObject>;

/** Our event as Emmett stores it; our eventId rides in the metadata so Emmett's fold can name it as ours does. */
export function toPeerEvent(event: NewEvent): PeerEvent {
  return {
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata, eventId: event.eventId } as unknown as JsonObject,
  };
}

/** One long-lived connection with the schema in place, for appends (the fairest use of Emmett). */
export async function openPeerConnection(file: string): Promise<SQLiteConnection> {
  const connection = sqliteConnection({ fileName: file });
  await connection.command('PRAGMA journal_mode = WAL');
  await connection.command('PRAGMA synchronous = FULL');
  await createEventStoreSchema(connection);
  return connection;
}

/** Emmett's appendToStream, one stream, with the expected version checked as ours is. */
export async function peerAppend(
  connection: SQLiteConnection,
  streamName: string,
  expectedVersion: number,
  events: PeerEvent[],
): Promise<void> {
  const result = await appendToStream(connection, streamName, 'site', events, {
    expectedStreamVersion: BigInt(expectedVersion),
  });
  if (!result.success) throw new Error(`emmett refused the append to ${streamName}`);
}

/** Emmett's public event store on a file, as an application would get it (it opens a connection per call). */
export function peerEventStore(file: string): SQLiteEventStore {
  return getSQLiteEventStore({ fileName: file });
}

export function closePeer(connection: SQLiteConnection): void {
  connection.close();
}
