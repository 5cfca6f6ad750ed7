import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { MemoryKeyStore } from '../../../src/crypto/memory-key-store.js';
import { PostgresKeyStore } from '../../../src/crypto/postgres-key-store.js';
import {
  chainEvents,
  EMPTY_STREAM_HEAD,
  type NewEvent,
  type StoredEvent,
} from '../../../src/event-store/event-envelope.js';
import type { StreamAppend } from '../../../src/event-store/event-store.port.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { MemoryEventStore } from '../../../src/event-store/memory/memory-event-store.js';
import { openPostgres, type PostgresConnection } from '../../../src/event-store/postgres/postgres.connection.js';
import { PostgresEventStore } from '../../../src/event-store/postgres/postgres-event-store.js';
import { PersonalDataCodec } from '../../../src/ledger/personal-data.codec.js';
import type { SiteEvent } from '../../../src/sites/domain/site.events.js';
import { SiteStreams } from '../../../src/sites/site-streams.js';
import { prepareTimeline } from '../fixtures.js';
import { warmPool } from './databases.js';

/** The product's PostgreSQL event store, key store and site streams on one pool, as `openStores` wires them. */
export interface PostgresLedger {
  connection: PostgresConnection;
  store: PostgresEventStore;
  keys: PostgresKeyStore;
  codec: PersonalDataCodec;
  streams: SiteStreams;
  close(): Promise<void>;
}

const quiet = (): void => undefined;

/**
 * Opens the ledger on `url` (creating its schema), with a pool of
 * `connections` (the product's default is 10), every connection already open.
 */
export async function openPostgresLedger(url: string, connections = 10): Promise<PostgresLedger> {
  const connection = await openPostgres(url, { log: quiet, maxConnections: connections });
  const keys = await PostgresKeyStore.open(connection, { log: quiet });
  const store = new PostgresEventStore(connection, { warn: quiet });
  const codec = new PersonalDataCodec(keys);
  await warmPool(connection.pool, connections);
  return {
    connection,
    store,
    keys,
    codec,
    streams: new SiteStreams(store, codec),
    async close() {
      await store.close();
      await keys.close();
      await connection.close();
    },
  };
}

/**
 * Data keys for `siteIds` in one transaction. Benchmark setup only: the key
 * store creates a key per registration in its own commit, which is the key
 * store's cost and not what an append figure measures (as bench/src/keys.ts
 * for SQLite).
 */
export async function createPostgresKeys(pool: pg.Pool, siteIds: readonly string[]): Promise<void> {
  await pool.query(
    `INSERT INTO site_keys (site_id, key, created_at)
     SELECT site_id, key, now() FROM unnest($1::text[], $2::bytea[]) AS k(site_id, key)`,
    [siteIds, siteIds.map(() => randomBytes(32))],
  );
}

/**
 * Sealing without a database, for the baselines' payloads: the same
 * SiteStreams.prepare with keys in memory, so raw pg and Emmett store events
 * of the very shape and size ours stores.
 */
export function scratchStreams(): SiteStreams {
  return new SiteStreams(new MemoryEventStore(), new PersonalDataCodec(new MemoryKeyStore()));
}

/**
 * Writes sites straight into the ledger before a service starts (keys in
 * one transaction, events through our store, 2,000 streams per commit), as
 * bench/src/app.ts seedSites does for SQLite.
 */
export async function seedPostgresSites(
  ledger: PostgresLedger,
  sites: readonly { siteId: string; events: SiteEvent[] }[],
): Promise<void> {
  await createPostgresKeys(
    ledger.connection.pool,
    sites.map((site) => site.siteId),
  );
  let batch: StreamAppend[] = [];
  for (const { siteId, events } of sites) {
    const prepared = await prepareTimeline(ledger.streams, siteId, events);
    batch.push({ streamId: siteStreamId(siteId), expectedVersion: 0, events: prepared });
    if (batch.length >= 2_000) {
      await ledger.store.appendMany(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await ledger.store.appendMany(batch);
}

/** A row of the events table (postgres.schema.ts), column by column as the raw baseline inserts it. */
export interface PgRow {
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  data: string;
  metadata: string;
  prevHash: string;
  hash: string;
  occurredAt: number;
}

/** The rows a fresh stream of `events` becomes, exactly as PostgresEventStore writes them. */
export function pgRows(streamId: string, events: readonly NewEvent[]): PgRow[] {
  return chainEvents(streamId, EMPTY_STREAM_HEAD, events).map(pgRowOf);
}

export function pgRowOf(event: Omit<StoredEvent, 'position'>): PgRow {
  return {
    streamId: event.streamId,
    version: event.version,
    eventId: event.eventId,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
    prevHash: event.prevHash,
    hash: event.hash,
    occurredAt: Date.parse(event.metadata.occurredAt),
  };
}
