import type { Event, ReadEvent } from '@event-driven-io/emmett';
import {
  appendToStream,
  createEventStoreSchema,
  readStream,
  sqliteConnection,
  type SQLiteConnection,
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

/**
 * What Emmett's aggregateStream does (read the stream, then evolve over its
 * events in order), on a connection the caller opened once. Emmett 0.38's
 * public store (getSQLiteEventStore) opens a connection for every call on a
 * file and closes it after: timing it would time connection set-up, not the
 * read and the fold. The read is Emmett's own readStream.
 */
export async function peerAggregate<State>(
  connection: SQLiteConnection,
  streamName: string,
  initialState: () => State,
  evolve: (state: State, event: ReadEvent<PeerEvent>) => State,
): Promise<{ state: State; version: number }> {
  const { events, currentStreamVersion } = await readStream<PeerEvent>(connection, streamName);
  let state = initialState();
  for (const event of events) state = evolve(state, event);
  return { state, version: Number(currentStreamVersion) };
}

export function closePeer(connection: SQLiteConnection): void {
  connection.close();
}
