import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { SharedTokenFileRequiredError, TokenFileMissingError, ensureTokenFile } from './auth/token-bootstrap.js';
import { configureApp } from './configure-app.js';
import { loadConfigOrExit } from './config/ledger-config.js';
import { DataFolderLockedError } from './data-folder/data-folder-lock.js';
import { lockConfiguredDataFolder } from './data-folder/data-folder.module.js';
import { EventStoreFailedError, EventStoreUnavailableError } from './event-store/event-store.errors.js';
import { openStores } from './stores/open-stores.js';

/**
 * What an operator fixes rather than a fault: a data folder another process
 * holds, a token file that is missing or must be shared, a database that
 * cannot be reached or refuses. Each stops the start with its message and
 * exit code 1, before Nest starts (which would log a stack trace and abort).
 */
const START_REFUSALS = [
  DataFolderLockedError,
  TokenFileMissingError,
  SharedTokenFileRequiredError,
  EventStoreUnavailableError,
  EventStoreFailedError,
];

async function startOrExit<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!START_REFUSALS.some((refusal) => error instanceof refusal)) throw error;
    console.error(`tenant-ledger cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  // Held until the process ends: a second process on the folder is refused.
  const dataFolderLock = await startOrExit(() => lockConfiguredDataFolder(config));
  // Plain console output: generated tokens must reach the operator whatever the log level.
  await startOrExit(() => ensureTokenFile(config, (line) => console.log(line)));
  const stores = await startOrExit(() => openStores(config, new Logger('Stores')));
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config, { dataFolderLock, stores })));
  await app.listen(config.port, config.host);
  console.log(
    `tenant-ledger listening on http://${config.host}:${config.port} (store: ${config.store}, data: ${config.dataDir}); docs at /docs`,
  );
}

await bootstrap();
