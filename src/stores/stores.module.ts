import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { KEY_STORE } from '../crypto/key-store.port.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import { EVENT_STORE } from '../event-store/event-store.port.js';
import { LEASES } from '../leases/leases.port.js';
import { openStores, type Stores } from './open-stores.js';

const STORES = Symbol('STORES');

@Injectable()
class StoreCloser implements OnApplicationShutdown {
  constructor(@Inject(STORES) private readonly stores: Stores) {}

  async onApplicationShutdown(): Promise<void> {
    await this.stores.close();
  }
}

/** Provides EVENT_STORE, KEY_STORE and LEASES everywhere, for the configured engine, and closes them on shutdown. */
@Global()
@Module({
  providers: [
    {
      provide: STORES,
      // The data folder is held before ledger.db and keys.db open in it.
      inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
      useFactory: (config: LedgerConfig) => {
        const logger = new Logger('Stores');
        return openStores(config, (message) => logger.warn(message));
      },
    },
    {
      provide: EVENT_STORE,
      inject: [STORES],
      useFactory: (stores: Stores) => stores.events,
    },
    {
      provide: KEY_STORE,
      inject: [STORES],
      useFactory: (stores: Stores) => stores.keys,
    },
    {
      provide: LEASES,
      inject: [STORES],
      useFactory: (stores: Stores) => stores.leases,
    },
    StoreCloser,
  ],
  exports: [EVENT_STORE, KEY_STORE, LEASES],
})
export class StoresModule {}
