import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { closeSync, fsyncSync, mkdirSync, openSync, realpathSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { READ_MODELS } from './read-model-layout.js';
import { loadConfigOrExit, type LedgerConfig } from './config/ledger-config.js';
import { DataFolderLockedError, lockDataFolder } from './data-folder/data-folder-lock.js';
import { readModelFile, removeDatabase } from './read-models/read-models.module.js';
import type { RebuildDone, RebuildTask } from './rebuild-worker.js';

/**
 * `npm run projections:rebuild`: rebuilds every read model from the whole
 * ledger, with the configuration main.ts would use (SPEC §8 variables).
 *
 * Each read-model file is built by a thread of its own (rebuild-worker.ts),
 * all at once: each reads the ledger itself and writes only its file, so
 * nothing is shared but the CPUs. A file is built beside the old one,
 * through the same projections and runner the service uses, and fsynced;
 * only once every file is complete do they replace the old ones (the
 * folder is fsynced after the renames): an interrupted rebuild leaves the
 * old read models in place. Each file carries its own checkpoint, so even a
 * crash between two renames leaves files the service can catch up from.
 * It holds the data folder from start to swap, so it refuses to run beside
 * a live service (which would keep writing to the replaced files), and a
 * service cannot start in the middle of it.
 */

export interface RebuildResult {
  /** Events applied (the fewest any file saw: on PostgreSQL other instances may append meanwhile). */
  events: number;
  seconds: number;
  /** The files written. */
  files: string[];
}

/** @throws DataFolderLockedError while another process (the service) holds the data folder. */
export async function rebuildReadModels(config: LedgerConfig): Promise<RebuildResult> {
  if (config.store === 'memory')
    throw new Error('the memory store keeps no read-model file; there is nothing to rebuild');
  const lock = lockDataFolder(config.dataDir);
  try {
    return await rebuildHolding(config);
  } finally {
    lock.release();
  }
}

/** While holding the data folder. */
async function rebuildHolding(config: LedgerConfig): Promise<RebuildResult> {
  const started = performance.now();
  const files = Object.keys(READ_MODELS).map((name) => {
    const target = readModelFile(config, name);
    return { name, target, into: `${target}.rebuild` };
  });
  for (const { target, into } of files) {
    mkdirSync(dirname(target), { recursive: true });
    removeDatabase(into); // left by an interrupted rebuild
  }
  const done = await Promise.all(files.map(({ name, into }) => buildInThread({ config, name, into })));
  // Durable before they replace anything: a power cut after the renames must not find them half-written.
  for (const { into } of files) fsyncPath(into);
  for (const { target, into } of files) {
    removeDatabase(target);
    renameSync(into, target);
  }
  for (const folder of new Set(files.map(({ target }) => dirname(target)))) fsyncPath(folder);
  return {
    events: Math.min(...done.map(({ events }) => events)),
    seconds: (performance.now() - started) / 1000,
    files: files.map(({ target }) => target),
  };
}

/** Runs rebuild-worker.ts for one file; rejects with the thread's error. */
function buildInThread(task: RebuildTask): Promise<RebuildDone> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./rebuild-worker.js', import.meta.url), { workerData: task });
    let answer: RebuildDone | undefined;
    worker.once('message', (message: RebuildDone) => (answer = message));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (answer !== undefined) resolve(answer);
      else reject(new Error(`the thread building ${task.name} stopped (exit code ${code}) before it was done`));
    });
  });
}

/** fsync(2) of a file or a folder (a folder: so that renames in it survive a power cut). */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const { events, seconds, files } = await rebuildReadModels(config);
  const rate = seconds > 0 ? Math.round(events / seconds) : events;
  console.log(`rebuilt the read models from ${events} events in ${seconds.toFixed(1)} s (${rate} events/s):`);
  for (const file of files) console.log(`  ${file}`);
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
