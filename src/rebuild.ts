import 'reflect-metadata';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { realpathSync, renameSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigModule } from './config/config.module.js';
import { loadConfigOrExit, type LedgerConfig } from './config/ledger-config.js';
import { type DataFolderLock, DataFolderLockedError, lockDataFolder } from './data-folder/data-folder-lock.js';
import { DataFolderModule } from './data-folder/data-folder.module.js';
import { StoresModule } from './stores/stores.module.js';
import { ProjectionRunner } from './read-models/projection-runner.js';
import { ReadModelsModule, readModelFile } from './read-models/read-models.module.js';
import { READ_MODELS } from './app.module.js';

/**
 * `npm run projections:rebuild`: rebuilds every read model from the whole
 * ledger, with the configuration main.ts would use (SPEC §8 variables).
 *
 * The read models are built into a new file beside the old one, through
 * the same projections and runner the service uses, and replace it only
 * once complete: an interrupted rebuild leaves the old read model in place.
 * It holds the data folder from start to swap, so it refuses to run beside
 * a live service (which would keep writing to the replaced file), and a
 * service cannot start in the middle of it. The service catches up from the
 * new file's checkpoint when it starts.
 */

@Module({})
class RebuildModule {
  static forRoot(config: LedgerConfig, lock: DataFolderLock, file: string): DynamicModule {
    return {
      module: RebuildModule,
      imports: [
        ConfigModule.forRoot(config),
        DataFolderModule.forRoot(lock),
        StoresModule.forRoot(),
        ReadModelsModule.forRoot(READ_MODELS, { rebuildInto: file }),
      ],
    };
  }
}

/** setTimeout's longest wait: catching up may take as long as it needs. */
const NO_TIMEOUT = 2 ** 31 - 1;

export interface RebuildResult {
  events: number;
  seconds: number;
}

/** @throws DataFolderLockedError while another process (the service) holds the data folder. */
export async function rebuildReadModels(config: LedgerConfig): Promise<RebuildResult> {
  if (config.store === 'memory')
    throw new Error('the memory store keeps no read-model file; there is nothing to rebuild');
  const lock = lockDataFolder(config.dataDir);
  try {
    return await rebuildHolding(config, lock);
  } finally {
    lock.release();
  }
}

async function rebuildHolding(config: LedgerConfig, lock: DataFolderLock): Promise<RebuildResult> {
  const target = readModelFile(config);
  const temporary = `${target}.rebuild`;
  removeDatabase(temporary); // left by an interrupted rebuild
  const started = performance.now();
  const context = await NestFactory.createApplicationContext(RebuildModule.forRoot(config, lock, temporary), {
    logger: ['error', 'warn'],
  });
  let events: number;
  try {
    const runner = context.get(ProjectionRunner);
    if (!(await runner.catchUp(NO_TIMEOUT))) throw new Error('the projections stopped; see the error above');
    events = runner.ordinal;
  } finally {
    // Closes the file (releasing its exclusive lock) before it replaces the old one.
    await context.close();
  }
  removeDatabase(target);
  renameSync(temporary, target);
  return { events, seconds: (performance.now() - started) / 1000 };
}

function removeDatabase(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const { events, seconds } = await rebuildReadModels(config);
  const rate = seconds > 0 ? Math.round(events / seconds) : events;
  console.log(
    `rebuilt the read models from ${events} events in ${seconds.toFixed(1)} s (${rate} events/s): ${readModelFile(config)}`,
  );
}

// Only when run as the command, not when a test imports rebuildReadModels. import.meta.url is the
// file's real path; the path it was started by may go through a symlink.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((error: unknown) => {
    // A held folder is an answer, not a fault: the message says what to do, a stack would only bury it.
    if (error instanceof DataFolderLockedError) console.error(error.message);
    else new Logger('Rebuild').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
