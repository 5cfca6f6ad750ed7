import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { type DataFolderLock, lockDataFolder } from './data-folder-lock.js';

/**
 * Nest injection token for this process's hold on the data folder (a
 * `DataFolderLock`, or null with the memory store). Every provider that
 * opens a file in the data folder injects it, so Nest creates it first.
 */
export const DATA_FOLDER_LOCK = Symbol('DATA_FOLDER_LOCK');

/**
 * Takes the data folder of `config` for this process: every store but
 * `memory` keeps files there (with `postgres`, the instance's own read
 * models), and SQLite allows one process per folder (SPEC §9).
 * @returns undefined with the memory store, which keeps no files.
 * @throws DataFolderLockedError when another process holds the folder.
 */
export function lockConfiguredDataFolder(config: LedgerConfig): DataFolderLock | undefined {
  return config.store === 'memory' ? undefined : lockDataFolder(config.dataDir);
}

@Injectable()
class DataFolderRelease implements OnApplicationShutdown {
  constructor(@Inject(DATA_FOLDER_LOCK) private readonly lock: DataFolderLock | null) {}

  onApplicationShutdown(): void {
    this.lock?.release();
  }
}

/**
 * Provides DATA_FOLDER_LOCK everywhere. Needs ConfigModule.
 *
 * Whoever takes the lock releases it. An entry point that took it already
 * passes it in (`forRoot(lock)`): main.ts, to refuse a second start with a
 * plain message before Nest logs anything, and rebuild.ts, which must keep
 * the folder until it has swapped the read-model files. Without one, the
 * module takes it as the app starts and releases it as the app closes, so a
 * test can restart an app on the same folder. Nest closes global modules in
 * the reverse of their import order: import this one before the modules
 * whose files it guards, so the folder is let go after they have closed.
 */
@Global()
@Module({})
export class DataFolderModule {
  static forRoot(held?: DataFolderLock): DynamicModule {
    return {
      module: DataFolderModule,
      providers:
        held === undefined
          ? [
              {
                provide: DATA_FOLDER_LOCK,
                inject: [LEDGER_CONFIG],
                useFactory: (config: LedgerConfig) => lockConfiguredDataFolder(config) ?? null,
              },
              DataFolderRelease,
            ]
          : [{ provide: DATA_FOLDER_LOCK, useValue: held }],
      exports: [DATA_FOLDER_LOCK],
    };
  }
}
