import { defineConfig } from 'vitest/config';
import { postgresForTests } from './src/testing/postgres.js';

/**
 * E2E specs that pick their stores themselves (the PostgreSQL ones, and the
 * process tests of SQLite's one-process-per-folder rule): they run once, in
 * `e2e`, not again in `e2e-postgres`.
 */
const STORE_SPECIFIC_E2E = [
  'test/checkpoint-key.e2e-spec.ts',
  'test/cli.e2e-spec.ts',
  'test/console.e2e-spec.ts',
  'test/data-folder.e2e-spec.ts',
  'test/disk-full.e2e-spec.ts',
  'test/instances.e2e-spec.ts',
  'test/kill-loop.e2e-spec.ts',
  'test/postgres-*.e2e-spec.ts',
  'test/private-postgres.e2e-spec.ts',
  'test/logs.e2e-spec.ts',
  'test/process.e2e-spec.ts',
  'test/readme.e2e-spec.ts',
  'test/sse-consumer.e2e-spec.ts',
  'test/walkthrough.e2e-spec.ts',
];

const e2e = { include: ['test/**/*.e2e-spec.ts'], testTimeout: 30_000, hookTimeout: 30_000 };

// `npm test` runs every project: unit specs beside the code (deciders, store
// contracts, crypto), e2e specs that boot the real app over HTTP on SQLite,
// and the same e2e specs again on PostgreSQL. Without a PostgreSQL server the
// last is left out with one printed line (postgresForTests), unless
// LEDGER_REQUIRE_POSTGRES=1 (CI), which makes that an error.
const hasPostgres = await postgresForTests();

export default defineConfig({
  test: {
    projects: [
      // console/src: the web console's pure pieces (routes, moments, diff, chart); its pages run in test/console.e2e-spec.ts.
      { extends: true, test: { name: 'unit', include: ['src/**/*.spec.ts', 'console/src/**/*.spec.ts'] } },
      { extends: true, test: { name: 'e2e', ...e2e } },
      ...(hasPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'e2e-postgres',
                ...e2e,
                exclude: STORE_SPECIFIC_E2E,
                env: { LEDGER_TEST_STORE: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
