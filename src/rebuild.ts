import 'reflect-metadata';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { renameSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigModule } from './config/config.module.js';
import { loadConfigOrExit, type LedgerConfig } from './config/ledger-config.js';
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
 * Run it while the service is stopped; the service catches up from the new
 * file's checkpoint when it starts.
 */

@Module({})
class RebuildModule {
  static forRoot(config: LedgerConfig, file: string): DynamicModule {
    return {
      module: RebuildModule,
      imports: [
        ConfigModule.forRoot(config),
        StoresModule,
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

export async function rebuildReadModels(config: LedgerConfig): Promise<RebuildResult> {
  if (config.store === 'memory')
    throw new Error('the memory store keeps no read-model file; there is nothing to rebuild');
  const target = readModelFile(config);
  const temporary = `${target}.rebuild`;
  removeDatabase(temporary); // left by an interrupted rebuild
  const started = performance.now();
  const context = await NestFactory.createApplicationContext(RebuildModule.forRoot(config, temporary), {
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

// Only when run as the command, not when a test imports rebuildReadModels.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    new Logger('Rebuild').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
