import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import { PROJECTIONS, type Projection } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { openReadModelDatabase, READ_MODEL_DB } from './read-model.database.js';

/** The path of the read-model file (`:memory:` with the memory store). */
export const readModelFile = (config: LedgerConfig): string =>
  config.store === 'memory' ? ':memory:' : join(config.dataDir, 'read-model.db');

export interface ReadModelsOptions {
  /** Build the read models into this file instead of the service's own (see rebuild.ts). */
  rebuildInto?: string;
}

/**
 * The read-model engine: the read-model file, the runner that feeds it from
 * the store's global order, and the projections it feeds. Features own
 * their projections; the composition root (app.module.ts) names them, so
 * the engine never imports a feature. Global: a feature injects its own
 * projection, and the command path waits on the runner, without importing
 * this module.
 */
@Global()
@Module({})
export class ReadModelsModule {
  /** @param projections every read model, in the order they are applied. */
  static forRoot(projections: readonly Type<Projection>[], options: ReadModelsOptions = {}): DynamicModule {
    const { rebuildInto } = options;
    return {
      module: ReadModelsModule,
      providers: [
        // Either file is opened only once the data folder is held (DATA_FOLDER_LOCK).
        rebuildInto === undefined
          ? {
              provide: READ_MODEL_DB,
              inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
              useFactory: (config: LedgerConfig): Database.Database => openReadModelDatabase(readModelFile(config)),
            }
          : {
              provide: READ_MODEL_DB,
              inject: [DATA_FOLDER_LOCK],
              useFactory: () => openReadModelDatabase(rebuildInto, { disposable: true }),
            },
        ...projections,
        { provide: PROJECTIONS, inject: [...projections], useFactory: (...each: Projection[]) => each },
        ProjectionRunner,
      ],
      exports: [READ_MODEL_DB, ProjectionRunner, ...projections],
    };
  }
}
