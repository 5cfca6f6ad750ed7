import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module.js';
import type { Role } from '../../src/auth/principal.js';
import { hashToken } from '../../src/auth/token-registry.js';
import { loadConfig, type LedgerConfig } from '../../src/config/ledger-config.js';
import { configureApp } from '../../src/configure-app.js';
import { siteStreamId } from '../../src/event-store/ledger-streams.js';
import { createCheckpointKeyFile } from '../../src/transparency-log/checkpoint-key.js';
import type { StreamAppend } from '../../src/event-store/event-store.port.js';
import type { RequestContext } from '../../src/ledger/request-context.js';
import type { SiteEvent } from '../../src/sites/domain/site.events.js';
import { openLedger, prepareTimeline } from './fixtures.js';
import { createKeys } from './keys.js';
import { rawRows, type RawRow } from './raw-sqlite.js';

/** Bearer tokens of the benchmark's principals (only their hashes reach the data dir). */
export const BENCH_TOKENS = {
  operator: 'tl_bench_operator',
  approver: 'tl_bench_approver',
  approver2: 'tl_bench_approver_two',
  viewer: 'tl_bench_viewer',
} as const;

const ROLES: Record<keyof typeof BENCH_TOKENS, Role[]> = {
  operator: ['operator'],
  approver: ['approver'],
  approver2: ['approver'],
  viewer: ['viewer'],
};

/** The service's configuration on `dir`, as main.ts would read it from the environment. */
export function benchConfig(dir: string, env: Record<string, string> = {}): LedgerConfig {
  return loadConfig({ ...benchEnv(dir), ...env });
}

/**
 * The environment variables of the service on `dir` (writing the token
 * file and the checkpoint key there): what a command started in a child
 * process (npm run projections:rebuild) is given.
 */
export function benchEnv(dir: string): Record<string, string> {
  const tokensFile = join(dir, 'bench-tokens.json');
  writeFileSync(
    tokensFile,
    JSON.stringify(
      Object.entries(BENCH_TOKENS).map(([principal, token]) => ({
        principal,
        roles: ROLES[principal as keyof typeof BENCH_TOKENS],
        tokenSha256: hashToken(token),
      })),
    ),
  );
  // Every instance on one database signs checkpoints with one key (a second call finds it there).
  const checkpointKeyFile = join(dir, 'bench-checkpoint-key.pem');
  createCheckpointKeyFile(checkpointKeyFile);
  // The retention sweeper and the resume pass would only add noise to timings.
  return {
    LEDGER_DATA_DIR: dir,
    LEDGER_TOKENS_FILE: tokensFile,
    LEDGER_CHECKPOINT_KEY_FILE: checkpointKeyFile,
    LEDGER_PURGE_INTERVAL: 'PT1H',
  };
}

/** The whole service without HTTP: the same modules, commands and read models. */
export async function startService(config: LedgerConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error', 'warn'] });
  await app.init();
  return app;
}

export function contextOf(principal: keyof typeof BENCH_TOKENS): RequestContext {
  return {
    principal: { id: principal, roles: new Set(ROLES[principal]) },
    correlationId: randomUUID(),
    causationId: null,
  };
}

/**
 * Writes sites straight into a data dir before the service starts (keys
 * in one transaction, events through our store in large appends), the way
 * a ledger that has been in use for a while looks. Returns the rows
 * written, for a raw baseline to start from the same ledger.
 */
export async function seedSites(dir: string, sites: { siteId: string; events: SiteEvent[] }[]): Promise<RawRow[]> {
  createKeys(
    join(dir, 'keys.db'),
    sites.map((site) => site.siteId),
  );
  const ledger = openLedger(dir);
  const rows: RawRow[] = [];
  try {
    let batch: StreamAppend[] = [];
    for (const { siteId, events } of sites) {
      const prepared = await prepareTimeline(ledger.streams, siteId, events);
      batch.push({ streamId: siteStreamId(siteId), expectedVersion: 0, events: prepared });
      rows.push(...rawRows(siteStreamId(siteId), prepared));
      if (batch.length >= 2_000) {
        await ledger.store.appendMany(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await ledger.store.appendMany(batch);
  } finally {
    await ledger.close();
  }
  return rows;
}

/** The service over HTTP on 127.0.0.1 and an ephemeral port, configured exactly as main.ts configures it. */
export async function startHttpService(config: LedgerConfig): Promise<{ app: INestApplication; url: string }> {
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config), { logger: ['error', 'warn'] }));
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${address.port}` };
}
