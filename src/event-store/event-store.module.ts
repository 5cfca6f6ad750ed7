import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { EventStoreDbKeyStore } from '../crypto/eventstoredb-key-store.js';
import { KEY_STORE, type KeyStore } from '../crypto/key-store.port.js';
import { MemoryKeyStore } from '../crypto/memory-key-store.js';
import { SqliteKeyStore } from '../crypto/sqlite-key-store.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { EVENT_STORE, type EventStore } from './event-store.port.js';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store.js';
import { MemoryEventStore } from './memory/memory-event-store.js';
import { SqliteEventStore } from './sqlite/sqlite-event-store.js';

/** The configured event store. The key store follows it (SPEC §3), so keys live beside the data they unlock. */
function openStores(config: LedgerConfig): { events: EventStore; keys: KeyStore } {
  switch (config.store) {
    case 'sqlite':
      return {
        events: new SqliteEventStore(join(config.dataDir, 'ledger.db')),
        // A separate file: key bytes never share pages, WAL or backups with the log.
        keys: new SqliteKeyStore(join(config.dataDir, 'keys.db')),
      };
    case 'eventstoredb':
      return {
        events: new EventStoreDbEventStore(config.eventStoreConnectionString),
        keys: new EventStoreDbKeyStore(config.eventStoreConnectionString),
      };
    case 'memory':
      return { events: new MemoryEventStore(), keys: new MemoryKeyStore() };
    default: {
      const unknown: never = config.store;
      throw new Error(`unknown store ${String(unknown)}`);
    }
  }
}

const STORES = Symbol('STORES');

@Injectable()
class StoreCloser implements OnApplicationShutdown {
  constructor(@Inject(STORES) private readonly stores: { events: EventStore; keys: KeyStore }) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.stores.events.close(), this.stores.keys.close()]);
  }
}

/** Provides EVENT_STORE and KEY_STORE everywhere, and closes them on shutdown. */
@Global()
@Module({
  providers: [
    { provide: STORES, inject: [LEDGER_CONFIG], useFactory: openStores },
    { provide: EVENT_STORE, inject: [STORES], useFactory: (stores: { events: EventStore }) => stores.events },
    { provide: KEY_STORE, inject: [STORES], useFactory: (stores: { keys: KeyStore }) => stores.keys },
    StoreCloser,
  ],
  exports: [EVENT_STORE, KEY_STORE],
})
export class EventStoreModule {}
