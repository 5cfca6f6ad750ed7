import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { AbstractLoader, ExpressLoader } from '@nestjs/serve-static';
import { Test } from '@nestjs/testing';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type TestAgent from 'supertest/lib/agent.js';
import { AppModule } from '../../src/app.module.js';
import { hashToken } from '../../src/auth/token-registry.js';
import { loadConfig, type LedgerConfig } from '../../src/config/ledger-config.js';
import { configureApp } from '../../src/configure-app.js';
import { EVENT_STORE, type EventStore } from '../../src/event-store/event-store.port.js';
import type { StoredEvent } from '../../src/event-store/event-envelope.js';
import type { Clock } from '../../src/ledger/clock.js';
import { createTestDatabase, type TestDatabase } from '../../src/testing/postgres.js';
import { OpenApiConformance } from './openapi-conformance.js';

/** The principals every test app knows, with their bearer tokens. */
export const TOKENS = {
  admin: 'tl_test_admin',
  operator: 'tl_test_operator',
  operator2: 'tl_test_operator_two',
  approver: 'tl_test_approver',
  approver2: 'tl_test_approver_two',
  viewer: 'tl_test_viewer',
} as const;
export type TestPrincipal = keyof typeof TOKENS;

const ROLES: Record<TestPrincipal, string[]> = {
  admin: ['admin'],
  operator: ['operator'],
  operator2: ['operator'],
  approver: ['approver'],
  approver2: ['approver'],
  viewer: ['viewer'],
};

/** A clock that follows real time, shifted by however far a test moved it. */
export class TestClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A running app as a test uses it: HTTP, principals, clock, store. */
export interface AppUnderTest {
  app: INestApplication;
  config: LedgerConfig;
  clock: TestClock;
  store: EventStore;
  /** supertest against the running app. */
  http(): TestAgent;
  /** `Authorization` header value for a principal. */
  auth(principal: TestPrincipal): string;
  /** Every stored event of the ledger, in global order. */
  allEvents(): Promise<StoredEvent[]>;
}

/** An app started by hand (startTestApp): whoever started it closes it. */
export interface TestApp extends AppUnderTest {
  /** Stops the app and removes its data directory, unless the caller passed one in. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Reuse a data directory (to restart on the same data); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Extra environment, as SPEC §8 variables. */
  env?: Record<string, string>;
  clock?: TestClock;
  /**
   * The event store to use instead of the one the configuration opens; the
   * caller closes it. Two apps, each with its own data directory (read
   * models, keys) and its own connection to one ledger file, stand for two
   * instances on one shared database.
   */
  eventStore?: EventStore;
  /** A built web console to serve at /console; without it the app answers there that the console is not built. */
  consoleDirectory?: string;
}

/** Writes a token file for TOKENS into `dataDir` and returns its path. */
export function writeTestTokens(dataDir: string): string {
  const file = join(dataDir, 'test-tokens.json');
  const entries = Object.entries(TOKENS).map(([principal, token]) => ({
    principal,
    roles: ROLES[principal as TestPrincipal],
    tokenSha256: hashToken(token),
  }));
  writeFileSync(file, JSON.stringify(entries));
  return file;
}

/**
 * The checkpoint signing key every test app signs with (a test-only key):
 * instances sharing one database must share it, as on postgres they must.
 */
export const TEST_CHECKPOINT_KEY = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'checkpoint-key.pem',
);

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'tenant-ledger-e2e-'));
}

/**
 * The store the e2e suite runs on: `sqlite` unless `LEDGER_TEST_STORE=postgres`
 * (the `e2e-postgres` project of vitest.config.ts runs every e2e spec so).
 * A test that names LEDGER_STORE itself keeps it.
 */
const TEST_STORE = process.env['LEDGER_TEST_STORE'] === 'postgres' ? 'postgres' : 'sqlite';

/**
 * On postgres, each data folder gets its own database, so an app restarted
 * on the same folder finds its ledger again and apps never see each other's.
 * An app that owns its folder drops its database when it closes; those of
 * folders a test passed in are dropped after the spec file.
 */
const databases = new Map<string, Promise<TestDatabase>>();
afterAll(async () => {
  const left = [...databases.values()];
  databases.clear();
  for (const database of left) await (await database).drop();
});

async function storeEnvironment(dataDir: string, env: Record<string, string> = {}): Promise<Record<string, string>> {
  if (TEST_STORE !== 'postgres' || env['LEDGER_STORE'] !== undefined) return {};
  let database = databases.get(dataDir);
  if (database === undefined) {
    database = createTestDatabase();
    databases.set(dataDir, database);
  }
  return { LEDGER_STORE: 'postgres', LEDGER_POSTGRES_URL: (await database).url };
}

/** The variables that open `config`'s store, for a command run beside a test app (the rebuild). */
export function storeVariables(config: LedgerConfig): Record<string, string> {
  return config.store === 'postgres'
    ? { LEDGER_STORE: 'postgres', LEDGER_POSTGRES_URL: config.postgresUrl }
    : { LEDGER_STORE: config.store };
}

/**
 * Every test app checks each response it sends against its own OpenAPI
 * document (openapi-conformance.ts). After each test, whatever the apps of
 * this file sent that the document does not describe fails that test; so do
 * responses sent in a suite's hooks, at the latest after the file.
 */
const conformances = new Set<OpenApiConformance>();
const conformanceTotals = { checked: 0, violations: [] as string[] };
function assertConformance(): void {
  const violations: string[] = [];
  for (const conformance of conformances) {
    violations.push(...conformance.violations.splice(0));
    conformanceTotals.checked += conformance.checked;
    conformance.checked = 0;
  }
  conformanceTotals.violations.push(...violations);
  if (violations.length > 0)
    throw new Error(`responses the OpenAPI document does not describe:\n  ${violations.join('\n  ')}`);
}
afterEach(assertConformance);
afterAll(() => {
  try {
    assertConformance();
  } finally {
    conformances.clear();
    // OPENAPI_CONFORMANCE_LOG=<file> collects the figures of a whole run, one JSON line per spec file.
    const log = process.env['OPENAPI_CONFORMANCE_LOG'];
    if (log !== undefined) appendFileSync(log, `${JSON.stringify(conformanceTotals)}\n`);
  }
});

/** Boots the real app (configureApp, real store, real HTTP server) on a temp data dir. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? makeDataDir();
  const ownsDir = options.dataDir === undefined;
  const config = loadConfig({
    LEDGER_DATA_DIR: dataDir,
    LEDGER_TOKENS_FILE: writeTestTokens(dataDir),
    // Errors only, as JSON: test output stays readable (logs.e2e-spec.ts runs the service as served).
    LEDGER_LOG_LEVEL: 'error',
    LEDGER_LOG_FORMAT: 'json',
    LEDGER_CHECKPOINT_KEY_FILE: TEST_CHECKPOINT_KEY,
    ...(await storeEnvironment(dataDir, options.env)),
    ...options.env,
  });
  const clock = options.clock ?? new TestClock();
  const builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config, { clock, consoleDirectory: options.consoleDirectory })],
  });
  if (options.eventStore) builder.overrideProvider(EVENT_STORE).useValue(options.eventStore);
  // A testing module makes its providers before it has an HTTP adapter, so ServeStaticModule would pick
  // its no-op loader and serve nothing; the service (NestFactory.create) has its adapter first.
  if (options.consoleDirectory !== undefined) builder.overrideProvider(AbstractLoader).useClass(ExpressLoader);
  const moduleRef = await builder.compile();
  const nest = moduleRef.createNestApplication({ logger: ['error'] });
  const conformance = new OpenApiConformance();
  nest.use(conformance.middleware); // first of all middleware, so it sees every answer
  const app = configureApp(nest);
  await app.init();
  await conformance.load((await request(app.getHttpServer()).get('/docs-json').expect(200)).body);
  conformances.add(conformance);
  const store = app.get<EventStore>(EVENT_STORE);
  return {
    app,
    config,
    clock,
    store,
    http: () => request(app.getHttpServer()),
    auth: (principal) => `Bearer ${TOKENS[principal]}`,
    async allEvents() {
      const events: StoredEvent[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.readAll({ after, limit: 1000 });
        events.push(...page);
        if (page.length < 1000) return events;
        after = page.at(-1)!.position;
      }
    },
    async close() {
      await app.close();
      if (ownsDir) {
        rmSync(dataDir, { recursive: true, force: true });
        const database = databases.get(dataDir);
        databases.delete(dataDir);
        await (await database)?.drop();
      }
    },
  };
}

export interface UseTestAppOptions extends TestAppOptions {
  /** `test` (the default): a fresh app for each test. `suite`: one app for all tests of the enclosing describe. */
  per?: 'test' | 'suite';
}

/**
 * The app the tests of a describe block run against: started before each
 * test and closed after it (or once around the block, with `per: 'suite'`).
 * Call it in the describe body. The object it returns reads whichever app is
 * running, so closures over it work in every test; hooks registered after it
 * see the app started (a `beforeAll` that seeds data) and run before it
 * closes (an `afterEach` that closes clients). Tests that restart an app on
 * the same data, or run two, start them by hand with startTestApp.
 */
export function useTestApp(options: UseTestAppOptions = {}): AppUnderTest {
  const { per = 'test', ...startOptions } = options;
  let running: TestApp | undefined;
  const current = (): TestApp => {
    if (running === undefined)
      throw new Error(`useTestApp: no app is running here; it runs in tests and hooks (per ${per})`);
    return running;
  };
  const [before, after] = per === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    running = await startTestApp(startOptions);
  });
  after(async () => {
    const app = running;
    running = undefined;
    await app?.close();
  });
  return {
    get app() {
      return current().app;
    },
    get config() {
      return current().config;
    },
    get clock() {
      return current().clock;
    },
    get store() {
      return current().store;
    },
    http: () => current().http(),
    auth: (principal) => current().auth(principal),
    allEvents: () => current().allEvents(),
  };
}

/**
 * Every page of a list endpoint (`{<key>: [...], nextCursor}`) for `query`,
 * following nextCursor as a viewer; `between` runs after the first page (to
 * change the ledger while paging).
 */
export async function allPages<T>(
  t: AppUnderTest,
  path: string,
  key: string,
  query: Record<string, string | number | boolean>,
  between?: () => Promise<void>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const response = await t
      .http()
      .get(path)
      .query(cursor === undefined ? query : { ...query, cursor })
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    items.push(...(response.body[key] as T[]));
    cursor = response.body.nextCursor;
    pages += 1;
    if (pages === 1) await between?.();
  } while (cursor !== undefined);
  return { items, pages };
}
