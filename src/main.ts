import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { AppModule } from './app.module.js';
import { SharedTokenFileRequiredError, TokenFileMissingError, ensureTokenFile } from './auth/token-bootstrap.js';
import { TokenFileError, TokenRegistry } from './auth/token-registry.js';
import { configureApp } from './configure-app.js';
import { loadConfigOrExit, type LedgerConfig } from './config/ledger-config.js';
import { DataFolderLockedError, DataFolderUnwritableError } from './data-folder/data-folder-lock.js';
import { lockConfiguredDataFolder } from './data-folder/data-folder.module.js';
import { EventStoreFailedError, EventStoreUnavailableError } from './event-store/event-store.errors.js';
import { createAppLogger, loggerParams } from './observability/log-options.js';
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
  // From here every line is a log line (JSON unless a terminal asks otherwise), also what opening the stores says.
  const stdoutIsTty = process.stdout.isTTY === true;
  const logger = createAppLogger(loggerParams(config, stdoutIsTty));
  Logger.overrideLogger(logger);
  // Generated tokens reach a person at a terminal and nobody else: logs are collected, stored and
  // shared, so they only say where the tokens are. Read once here only to refuse a malformed file
  // with one sentence; the app reads it again as it starts.
  const tokenLines: string[] = [];
  const tokensFile = await startOrExit(() => ensureTokenFile(config, (line) => tokenLines.push(line)));
  await startOrExit(() => TokenRegistry.fromFile(tokensFile));
  if (tokenLines.length > 0) {
    if (stdoutIsTty) for (const line of tokenLines) console.log(line);
    else
      new Logger('Tokens').log(
        `generated a token for each initial principal (first start); they are in ${join(config.dataDir, 'initial-tokens.txt')} (mode 0600), ` +
          'not in this log: store them safely and delete that file',
      );
  }
  // The checkpoint key: generated on a first start (not on postgres, where every instance needs the same
  // file); its public half is logged, it is what clients check checkpoints with.
  const checkpointKeyLog = new Logger('CheckpointKey');
  const signer = await startOrExit(() =>
    loadCheckpointSigner(
      ensureCheckpointKeyFile(config, (line) => checkpointKeyLog.log(line)),
      config.origin,
    ),
  );
  checkpointKeyLog.log(verifierKeyLine(signer));
  const stores = await startOrExit(() => openStores(config, new Logger('Stores')));
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config, { dataFolderLock, stores }), { logger }));
  await startOrExit(() => listenOrRefuse(config, () => app.listen(config.port, config.host)));
  new Logger('Main').log(
    `tenant-ledger listening on http://${config.host}:${config.port} (store: ${config.store}, data: ${config.dataDir}); ` +
      'health at /health/live and /health/ready, metrics at /metrics, docs at /docs, the web console at /console',
  );
}

await bootstrap();
