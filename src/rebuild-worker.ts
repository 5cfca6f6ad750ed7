import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { parentPort, workerData } from 'node:worker_threads';
import { READ_MODELS } from './read-model-layout.js';
import type { LedgerConfig } from './config/ledger-config.js';
import { ProjectionRunner } from './read-models/projection-runner.js';
import { openReadModelDatabase, readModelFileOf } from './read-models/read-model.database.js';
import { openStores } from './stores/open-stores.js';

/** What rebuild.ts hands each thread: the read-model file to build, and where. */
export interface RebuildTask {
  config: LedgerConfig;
  /** A file of READ_MODELS. */
  name: string;
  /** The path to build it at. */
  into: string;
}

/** What a thread answers once its file is built and closed. */
export interface RebuildDone {
  /** Events applied: the ledger as this thread found it when it caught up. */
  events: number;
}

/** setTimeout's longest wait: catching up may take as long as it needs. */
const NO_TIMEOUT = 2 ** 31 - 1;

/**
 * One thread of `npm run projections:rebuild`: builds one read-model file
 * from the whole ledger, with its own connection to the store, through the
 * same runner and projections the service uses. The process that started it
 * holds the data folder; this thread only reads the ledger and writes its
 * own new file.
 */
async function build({ config, name, into }: RebuildTask): Promise<RebuildDone> {
  const types = READ_MODELS[name];
  if (types === undefined) throw new Error(`no read-model file is called ${name}`);
  const logger = new Logger(`Rebuild ${name}`);
  const stores = await openStores(config, { log: () => undefined, warn: (message) => logger.warn(message) });
  try {
    const file = readModelFileOf(name, openReadModelDatabase(into, { disposable: true }), types);
    const runner = new ProjectionRunner(stores.events, [file]);
    runner.onApplicationBootstrap();
    try {
      if (!(await runner.catchUp(NO_TIMEOUT))) throw new Error('the projections stopped; see the error above');
      return { events: runner.ordinal };
    } finally {
      await runner.beforeApplicationShutdown();
      runner.onApplicationShutdown(); // closes the file
    }
  } finally {
    await stores.close();
  }
}

parentPort!.postMessage(await build(workerData as RebuildTask));
