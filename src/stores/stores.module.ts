import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { KEY_STORE } from '../crypto/key-store.port.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import { EVENT_STORE } from '../event-store/event-store.port.js';
import { IDEMPOTENCY_STORE } from '../idempotency/idempotency.port.js';
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

/**
 * Provides EVENT_STORE, KEY_STORE, LEASES and IDEMPOTENCY_STORE everywhere, for the configured
 * engine, and closes them on shutdown. main.ts opens the stores before Nest
 * starts (`forRoot(opened)`), so an unreachable database stops the start
 * with a plain message; otherwise they open as the app starts.
 */
@Global()
@Module({})
export class StoresModule {
  static forRoot(opened?: Stores): DynamicModule {
    const stores: Provider =
      opened === undefined
        ? {
            provide: STORES,
            // The data folder is held before ledger.db and keys.db open in it.
            inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
            useFactory: (config: LedgerConfig) => openStores(config, new Logger('Stores')),
          }
        : { provide: STORES, useValue: opened };
    return {
      module: StoresModule,
      providers: [
        stores,
        { provide: EVENT_STORE, inject: [STORES], useFactory: (each: Stores) => each.events },
        { provide: KEY_STORE, inject: [STORES], useFactory: (each: Stores) => each.keys },
        { provide: LEASES, inject: [STORES], useFactory: (each: Stores) => each.leases },
        { provide: IDEMPOTENCY_STORE, inject: [STORES], useFactory: (each: Stores) => each.idempotency },
        StoreCloser,
      ],
      exports: [EVENT_STORE, KEY_STORE, LEASES, IDEMPOTENCY_STORE],
    };
  }
}
