import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import type { Projection, ReadModelLayout } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { openReadModelDatabase, READ_MODEL_FILES, type ReadModelFile } from './read-model.database.js';

/** The path of a read-model file (`:memory:` with the memory store). */
export const readModelFile = (config: LedgerConfig, name: string): string =>
  config.store === 'memory' ? ':memory:' : join(config.dataDir, 'read-models', `${name}.db`);

/** Where every read model lived before each file had its own (layout 7 and earlier). */
const LEGACY_FILE = 'read-model.db';

export interface ReadModelsOptions {
  /** Build the read models into these files instead of the service's own (see rebuild.ts), by file name. */
  rebuildInto?: Readonly<Record<string, string>>;
}

/**
 * The read-model engine: the read-model files, the runner that feeds them
 * from the store's global order, and the projections kept in them. Features
 * own their projections; the composition root (app.module.ts) lays them out
 * in files, so the engine never imports a feature. Global: a feature injects
 * its own projection, and the command path waits on the runner, without
 * importing this module.
 */
@Global()
@Module({})
export class ReadModelsModule {
  /** @param layout every read-model file and the projections kept in it, in the order they are applied. */
  static forRoot(layout: ReadModelLayout, options: ReadModelsOptions = {}): DynamicModule {
    const { rebuildInto } = options;
    const names = Object.keys(layout);
    const dbToken = (name: string) => `ReadModelDatabase:${name}`;
    const databases: Provider[] = names.map((name) => ({
      provide: dbToken(name),
      // Every file is opened only once the data folder is held (DATA_FOLDER_LOCK).
      inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
      useFactory: (config: LedgerConfig): Database.Database => {
        const into = rebuildInto?.[name];
        if (into !== undefined) return openReadModelDatabase(into, { disposable: true });
        // Derived data: the old single file is only dead weight once the files below exist.
        if (config.store !== 'memory') removeDatabase(join(config.dataDir, LEGACY_FILE));
        return openReadModelDatabase(readModelFile(config, name));
      },
    }));
    const projections: Provider[] = names.flatMap((name) =>
      layout[name]!.map((type) => ({
        provide: type,
        inject: [dbToken(name)],
        useFactory: (db: Database.Database) => new type(db),
      })),
    );
    const everyType = names.flatMap((name) => layout[name]!);
    const files: Provider = {
      provide: READ_MODEL_FILES,
      inject: [...names.map(dbToken), ...everyType],
      useFactory: (...injected: unknown[]): ReadModelFile[] => {
        const dbs = injected.slice(0, names.length) as Database.Database[];
        let next = names.length;
        return names.map((name, i) => {
          const kept = injected.slice(next, next + layout[name]!.length) as Projection[];
          next += kept.length;
          return { name, db: dbs[i]!, projections: kept };
        });
      },
    };
    return {
      module: ReadModelsModule,
      providers: [...databases, ...projections, files, ProjectionRunner],
      exports: [ProjectionRunner, ...everyType],
    };
  }
}

/** Removes an SQLite database with its WAL and shared-memory files. */
export function removeDatabase(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
}
