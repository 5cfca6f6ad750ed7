// @ts-check
/**
 * Mutation testing of the domain rules (`npm run mutation`; not in CI, it takes minutes).
 * Each mutant of the deciders, plans, revert and purge policy runs against the domain
 * unit specs only (vitest.mutation.config.ts). While iterating, narrow it to one file:
 *   npm run mutation -- --mutate src/operations/domain/operation.sites.ts
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const config = {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: [
    'src/sites/domain/**/*.ts',
    'src/operations/domain/**/*.ts',
    'src/retention/domain/**/*.ts',
    '!src/**/*.spec.ts',
  ],
  // The sandbox needs src/ and the configs; the rest only slows the copy.
  ignorePatterns: ['bench', 'test', 'examples', 'dist', 'data', 'coverage', 'reports'],
  concurrency: 2,
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'html', 'json', 'progress'],
  // Survivors and the score table; not the list of every test.
  clearTextReporter: { reportTests: false, logTests: false },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // Mutation testing tells where tests are thin; it does not gate a build.
  thresholds: { high: 90, low: 80, break: null },
};

export default config;
