import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import type { ReadModelLayout } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { openReadModelDatabase, READ_MODEL_FILES, readModelFileOf, type ReadModelFile } from './read-model.database.js';

/** The path of a read-model file (`:memory:` with the memory store). */
export const readModelFile = (config: LedgerConfig, name: string): string =>
  config.store === 'memory' ? ':memory:' : join(config.dataDir, 'read-models', `${name}.db`);

/** Where every read model lived before each file had its own (layout 7 and earlier). */
const LEGACY_FILE = 'read-model.db';

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
  static forRoot(layout: ReadModelLayout): DynamicModule {
    const names = Object.keys(layout);
    const fileToken = (name: string) => `ReadModelFile:${name}`;
    const files: Provider[] = names.map((name) => ({
      provide: fileToken(name),
      // Every file is opened only once the data folder is held (DATA_FOLDER_LOCK).
      inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
      useFactory: (config: LedgerConfig): ReadModelFile =>
        readModelFileOf(name, openReadModelDatabase(readModelFile(config, name)), layout[name]!),
    }));
    // Each feature injects its own projection: the one its file constructed.
    const projections: Provider[] = names.flatMap((name) =>
      layout[name]!.map((type, i) => ({
        provide: type,
        inject: [fileToken(name)],
        useFactory: (file: ReadModelFile) => file.projections[i],
      })),
    );
    const everyFile: Provider = {
      provide: READ_MODEL_FILES,
      inject: [LEDGER_CONFIG, ...names.map(fileToken)],
      useFactory: (config: LedgerConfig, ...each: ReadModelFile[]): ReadModelFile[] => {
        // Derived data: the old single file is only dead weight once these exist.
        if (config.store !== 'memory') removeDatabase(join(config.dataDir, LEGACY_FILE));
        return each;
      },
    };
    return {
      module: ReadModelsModule,
      providers: [...files, ...projections, everyFile, ProjectionRunner],
      exports: [ProjectionRunner, ...names.flatMap((name) => layout[name]!)],
    };
  }
}

/** Removes an SQLite database with its WAL and shared-memory files. */
export function removeDatabase(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
}
