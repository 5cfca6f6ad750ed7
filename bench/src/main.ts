import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { writeResult, type SuiteOptions, type SuiteResult } from './harness.js';

/**
 * Runs one suite in this process and writes its figures to `--out`. The
 * runner (bench/run.mjs) starts one process per suite, so a suite's heap,
 * caches and open files never weigh on the next one.
 */
const SUITES: Record<string, () => Promise<{ run(options: SuiteOptions): Promise<SuiteResult> }>> = {
  append: () => import('./suites/append.js'),
  aggregate: () => import('./suites/aggregate.js'),
  operation: () => import('./suites/operation.js'),
  fleet: () => import('./suites/fleet.js'),
  http: () => import('./suites/http.js'),
  postgres: () => import('./suites/postgres.js'),
  concurrent: () => import('./suites/concurrent.js'),
  soak: () => import('./suites/soak.js'),
};

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});

const load = values.suite === undefined ? undefined : SUITES[values.suite];
if (!load || values.out === undefined) {
  console.error(`usage: main.js --suite ${Object.keys(SUITES).join('|')} --out FILE [--quick]`);
  process.exit(2);
}
const suite = await load();
const result = await suite.run({ quick: values.quick ?? false });
writeResult(values.out, result);
