import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createServer } from 'node:net';
import { AppModule } from './app.module.js';
import { SharedTokenFileRequiredError, TokenFileMissingError, ensureTokenFile } from './auth/token-bootstrap.js';
import { TokenFileError, TokenRegistry } from './auth/token-registry.js';
import { configureApp } from './configure-app.js';
import { loadConfigOrExit, type LedgerConfig } from './config/ledger-config.js';
import { DataFolderLockedError, DataFolderUnwritableError } from './data-folder/data-folder-lock.js';
import { lockConfiguredDataFolder } from './data-folder/data-folder.module.js';
import { EventStoreFailedError, EventStoreUnavailableError } from './event-store/event-store.errors.js';
import { openStores } from './stores/open-stores.js';
import {
  CheckpointKeyFileError,
  CheckpointKeyFileMissingError,
  SharedCheckpointKeyRequiredError,
  ensureCheckpointKeyFile,
  loadCheckpointSigner,
  verifierKeyLine,
} from './transparency-log/checkpoint-key.js';

/** The service cannot listen where it is told to (`PORT`, `HOST`). */
class CannotListenError extends Error {}

/**
 * What an operator fixes rather than a fault: an address it cannot listen
 * on, a data folder another process holds or that cannot be written, a
 * token file or checkpoint key file that is missing, malformed or must be shared, a database that
 * cannot be reached or refuses. Each stops the start with one sentence and
 * exit code 1, before Nest starts (which would log its start-up and a stack).
 */
const START_REFUSALS = [
  CannotListenError,
  DataFolderLockedError,
  DataFolderUnwritableError,
  TokenFileMissingError,
  TokenFileError,
  SharedTokenFileRequiredError,
  EventStoreUnavailableError,
  EventStoreFailedError,
  CheckpointKeyFileMissingError,
  SharedCheckpointKeyRequiredError,
  CheckpointKeyFileError,
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

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'is in use by another process',
  EACCES: 'needs privileges this process lacks',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/** Runs `listen`; an address it cannot take becomes CannotListenError, naming it and what to set. */
async function listenOrRefuse<T>(config: LedgerConfig, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const code = String((error as { code?: unknown }).code);
    const problem = LISTEN_PROBLEMS[code];
    if (problem === undefined) throw error;
    throw new CannotListenError(`${config.host}:${config.port} ${problem} (${code}); set PORT or HOST`);
  }
}

/** Binds the address and lets it go at once; the service binds it again moments later (a race this cannot close). */
function probeAddress(config: LedgerConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(config.port, config.host, () => server.close(() => resolve()));
  });
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  await startOrExit(() => listenOrRefuse(config, () => probeAddress(config)));
  // Held until the process ends: a second process on the folder is refused.
  const dataFolderLock = await startOrExit(() => lockConfiguredDataFolder(config));
  // Plain console output: generated tokens must reach the operator whatever the log level. Read once
  // here only to refuse a malformed file with one sentence; the app reads it again as it starts.
  await startOrExit(() => TokenRegistry.fromFile(ensureTokenFile(config, (line) => console.log(line))));
  // The same for the checkpoint key (generated on a first start except on postgres); its public half is printed.
  const signer = await startOrExit(() =>
    loadCheckpointSigner(
      ensureCheckpointKeyFile(config, (line) => console.log(line)),
      config.origin,
    ),
  );
  console.log(verifierKeyLine(signer));
  const stores = await startOrExit(() => openStores(config, new Logger('Stores')));
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config, { dataFolderLock, stores })));
  await startOrExit(() => listenOrRefuse(config, () => app.listen(config.port, config.host)));
  console.log(
    `tenant-ledger listening on http://${config.host}:${config.port} (store: ${config.store}, data: ${config.dataDir}); docs at /docs`,
  );
}

await bootstrap();
