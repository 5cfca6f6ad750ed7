import { join } from 'node:path';
import type { LedgerConfig } from '../config/ledger-config.js';
import { EventStoreDbKeyStore } from '../crypto/eventstoredb-key-store.js';
import type { KeyStore } from '../crypto/key-store.port.js';
import { MemoryKeyStore } from '../crypto/memory-key-store.js';
import { PostgresKeyStore } from '../crypto/postgres-key-store.js';
import { SqliteKeyStore } from '../crypto/sqlite-key-store.js';
import type { EventStore } from '../event-store/event-store.port.js';
import type { IdempotencyStore } from '../idempotency/idempotency.port.js';
import { MemoryIdempotencyStore } from '../idempotency/memory-idempotency-store.js';
import { PostgresIdempotencyStore } from '../idempotency/postgres-idempotency-store.js';
import { RefusingIdempotencyStore } from '../idempotency/refusing-idempotency-store.js';
import { SqliteIdempotencyStore } from '../idempotency/sqlite-idempotency-store.js';
import type { Leases } from '../leases/leases.port.js';
import { LocalLeases } from '../leases/local-leases.js';
import { PostgresLeases } from '../leases/postgres-leases.js';
import { connectionUser, openEventStoreDbClient } from '../event-store/eventstoredb/eventstoredb.client.js';
import { EventStoreDbEventStore } from '../event-store/eventstoredb/eventstoredb-event-store.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import { openPostgres } from '../event-store/postgres/postgres.connection.js';
import { PostgresEventStore } from '../event-store/postgres/postgres-event-store.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';

/** The configured event store, the key store and the leases that follow it, closed together. */
export interface Stores {
  events: EventStore;
  keys: KeyStore;
  /** Who runs background work: shared between instances on `postgres`, always this instance elsewhere. */
  leases: Leases;
  /** What POST and PUT with an Idempotency-Key answered: in the store's own database; refused on `eventstoredb`. */
  idempotency: IdempotencyStore;
  /** Closes both stores, then what they share. Idempotent. */
  close(): Promise<void>;
}

/**
 * Picks the engine (`LEDGER_STORE`): the key store follows the event store
 * (SPEC §3), so keys live beside the data they unlock. This is the one place
 * that knows every engine; neither `event-store/` nor `crypto/` imports it.
 */
/** Where the stores report: what they set up (`log`) and what an operator should look at (`warn`). */
export interface StoresLogger {
  log(message: string): void;
  warn(message: string): void;
}

export async function openStores(config: LedgerConfig, logger: StoresLogger): Promise<Stores> {
  switch (config.store) {
    case 'sqlite':
      return closedTogether(
        new SqliteEventStore(join(config.dataDir, 'ledger.db')),
        // A separate file: key bytes never share pages, WAL or backups with the log.
        new SqliteKeyStore(join(config.dataDir, 'keys.db')),
        // Beside the ledger, not in it: see SqliteIdempotencyStore.
        new SqliteIdempotencyStore(join(config.dataDir, 'idempotency.db')),
      );
    case 'eventstoredb': {
      // One client for both: the library fails every client's pending appends
      // when one client's append stream errors or is disposed.
      const client = openEventStoreDbClient(config.eventStoreConnectionString);
      const user = connectionUser(config.eventStoreConnectionString);
      return closedTogether(
        new EventStoreDbEventStore(client, { warn: (message) => logger.warn(message) }),
        new EventStoreDbKeyStore(client, {
          aclRoles: user === undefined ? ['$admins'] : [user, '$admins'],
        }),
        // No adapter: nothing could test one here. A request with a key is refused (400).
        new RefusingIdempotencyStore('eventstoredb'),
        () => client.dispose(),
      );
    }
    case 'postgres': {
      // One pool for the ledger, the keys and the leases; it closes after them.
      const connection = await openPostgres(config.postgresUrl, { log: (message) => logger.log(message) });
      try {
        const keys = await PostgresKeyStore.open(connection, { log: (message) => logger.warn(message) });
        const leases = await PostgresLeases.open(connection, (message) => logger.log(message));
        const idempotency = await PostgresIdempotencyStore.open(connection, (message) => logger.log(message));
        const events = new PostgresEventStore(connection, { warn: (message) => logger.warn(message) });
        return closedTogether(events, keys, idempotency, () => connection.close(), leases);
      } catch (error) {
        await connection.close();
        throw error;
      }
    }
    case 'memory':
      return closedTogether(new MemoryEventStore(), new MemoryKeyStore(), new MemoryIdempotencyStore());
    default: {
      const unknown: never = config.store;
      throw new Error(`unknown store ${String(unknown)}`);
    }
  }
}

function closedTogether(
  events: EventStore,
  keys: KeyStore,
  idempotency: IdempotencyStore,
  afterwards?: () => Promise<void>,
  leases: Leases = new LocalLeases(),
): Stores {
  let closing: Promise<void> | undefined;
  return {
    events,
    keys,
    leases,
    idempotency,
    close: () => {
      closing ??= (async () => {
        await Promise.all([events.close(), keys.close(), idempotency.close()]);
        await afterwards?.();
      })();
      return closing;
    },
  };
}
