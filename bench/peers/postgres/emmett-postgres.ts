import type { Event, ReadEvent } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';

/**
 * The PostgreSQL peer: Emmett's PostgreSQL event store
 * (@event-driven-io/emmett-postgresql 0.42.0), given the same events we
 * store. It lives in its own package folder (this one), because it needs
 * @event-driven-io/emmett 0.42.0 where the SQLite peer (bench/package.json)
 * needs 0.38.5; the suites reach it only through this file.
 *
 * Emmett runs on a pg.Pool the benchmark opens (its own copy of `pg`), with
 * the server's durability: `synchronous_commit` on, as our pool sets it, so
 * a commit means the same thing on both sides.
 */
export type PeerEvent = Event<string, Record<string, unknown>, Record<string, unknown>>;
export type PeerReadEvent = ReadEvent<PeerEvent>;

export interface PostgresPeer {
  /** Emmett's appendToStream, one stream, with the expected version checked as ours is. */
  append(streamName: string, expectedVersion: number, events: PeerEvent[]): Promise<void>;
  /** Emmett's aggregateStream: reads the whole stream and folds it. */
  aggregate<State>(
    streamName: string,
    initialState: () => State,
    evolve: (state: State, event: PeerReadEvent) => State,
  ): Promise<State>;
  close(): Promise<void>;
}

/**
 * Emmett's event store on `url` with a pool of `connections` connections,
 * already open (so no timed call pays for a connection), and its schema in
 * place (so no timed call pays for the migration check Emmett runs on first use).
 */
export async function openPostgresPeer(url: string, connections: number): Promise<PostgresPeer> {
  const pool = new pg.Pool({ connectionString: url, max: connections, options: '-c synchronous_commit=on' });
  pool.on('error', () => undefined); // an idle connection ended by the server: the next call opens another
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  for (const client of clients) client.release();
  const store: PostgresEventStore = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await store.schema.migrate();
  return {
    async append(streamName, expectedVersion, events) {
      await store.appendToStream(streamName, events, { expectedStreamVersion: BigInt(expectedVersion) });
    },
    async aggregate(streamName, initialState, evolve) {
      const { state } = await store.aggregateStream(streamName, { initialState, evolve });
      return state;
    },
    async close() {
      await store.close();
      await pool.end();
    },
  };
}
