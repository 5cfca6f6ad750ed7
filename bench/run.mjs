#!/usr/bin/env node
// `npm run bench` (from the project root): every figure beside its baseline,
// measured in this run on fresh temporary data directories.
//
//   npm run bench                 the full run (about half an hour on 2 cores: the fleet suite
//                                 writes and builds a 1,000,000-site ledger)
//   npm run bench -- --quick      smaller samples, under two minutes
//   npm run bench -- --only append,http
//   npm run bench -- --only postgres   the PostgreSQL figures (a server at
//                                 LEDGER_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
//   npm run bench -- --only concurrent concurrent callers, a durable commit each (group
//                                 commit): SQLite and PostgreSQL stores beside Emmett, HTTP with 32 connections
//   npm run bench -- --only soak  resident memory of the service under minutes of mixed
//                                 HTTP load (not part of the full run: it only runs when named)
//
// Bench-only tools (tinybench, autocannon, the Emmett peer and its sqlite3)
// live in bench/package.json, and Emmett's PostgreSQL peer in
// bench/peers/postgres/package.json, installed here on first use, never in
// the product's dependencies. The bench compiles the product's sources and its
// own with bench/tsconfig.json into bench/.tmp/build, so it never touches
// dist/ (which other builds may be replacing meanwhile).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatNumber } from './format-number.mjs';
import { PACKAGE_DIRS, installBenchTools } from './install.mjs';

const SUITES = ['append', 'aggregate', 'operation', 'fleet', 'http', 'postgres', 'concurrent'];
/**
 * Suites that run only when named with --only (minutes of load each). Their
 * entries in bench/results.json are replaced whenever they run, and a full
 * run keeps them.
 */
const OPT_IN_SUITES = ['soak'];

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
const quick = values.quick;
const suites = values.only ? values.only.split(',').map((name) => name.trim()) : SUITES;
for (const name of suites) {
  if (!SUITES.includes(name) && !OPT_IN_SUITES.includes(name))
    fail(`unknown suite "${name}"; suites: ${[...SUITES, ...OPT_IN_SUITES].join(', ')}`);
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
}

const started = performance.now();
if (!existsSync(join(root, 'node_modules', 'better-sqlite3')))
  fail('the product is not installed: run `npm install` (or `npm ci`) first');
installBenchTools('run');
console.error('bench: compiling the product and the benchmarks (bench/tsconfig.json)');
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(benchDir, 'tsconfig.json')]);
// The product compiled here (bench/.tmp/build/src) must load the product's own dependencies, as
// dist/ does: without this link Node would find a package of the same name among the bench tools'
// dependencies first (bench/node_modules holds lru-cache 6, for sqlite3's build tools; the product
// uses 11). The benchmarks themselves (bench/.tmp/build/bench) still find their tools first.
const productModules = join(benchDir, '.tmp', 'build', 'src', 'node_modules');
if (!existsSync(productModules)) symlinkSync(join(root, 'node_modules'), productModules, 'dir');
// Likewise a peer's code compiled into bench/.tmp/build/bench/peers/<name> loads that peer's own
// dependencies (Emmett 0.42 for PostgreSQL), not bench/node_modules' (Emmett 0.38.5 for SQLite).
for (const dir of PACKAGE_DIRS.filter((each) => each !== benchDir)) {
  const compiled = join(benchDir, '.tmp', 'build', 'bench', relative(benchDir, dir), 'node_modules');
  if (!existsSync(compiled)) symlinkSync(join(dir, 'node_modules'), compiled, 'dir');
}

const date = new Date().toISOString();
const mode = quick ? 'quick' : 'full';
const out = mkdtempSync(join(tmpdir(), 'tenant-ledger-bench-results-'));
const figures = [];
const omissions = [];
const facts = {};
try {
  for (const suite of suites) {
    console.error(`\nbench: ${suite} (${mode})`);
    const file = join(out, `${suite}.json`);
    const args = [
      '--expose-gc',
      join(benchDir, '.tmp', 'build', 'bench', 'src', 'main.js'),
      '--suite',
      suite,
      '--out',
      file,
    ];
    if (quick) args.push('--quick');
    // One process per suite: no suite's heap, caches or open files weigh on the next.
    const code = await new Promise((resolve) => {
      const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root });
      child.on('exit', (status, signal) => resolve(status ?? signal));
    });
    if (code !== 0) fail(`suite ${suite} failed (${code})`);
    const result = JSON.parse(readFileSync(file, 'utf8'));
    figures.push(...result.figures.map((figure) => ({ ...figure, suite })));
    omissions.push(...result.omissions.map((omission) => ({ ...omission, suite })));
    for (const [name, fact] of Object.entries(result.facts ?? {})) facts[name] = { suite, fact };
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${process.platform}`;
const results = [
  ...figures.map((figure) => ({ ...figure, measuredAt: date, mode, machine })),
  ...omissions.map(({ name, reason, suite }) => ({
    suite,
    name,
    value: null,
    unit: null,
    baseline: null,
    ratio: null,
    omitted: reason,
    measuredAt: date,
    mode,
    machine,
  })),
  // What a suite measured on the way (per-event costs and the like): quoted in BENCHMARKS.md, so kept with the figures.
  ...Object.entries(facts).map(([name, { suite, fact }]) => ({ suite, name, fact, measuredAt: date, mode, machine })),
];
printTable(results.filter((row) => row.fact === undefined));
// What each baseline is, and the spread, sample counts and caveats a reader needs to weigh each number.
console.log('');
for (const row of results)
  if (!row.omitted && row.fact === undefined)
    console.log(`- ${row.name}: baseline ${row.baselineName}; ${row.note ?? ''}`);
for (const [name, { fact }] of Object.entries(facts)) console.log(`${name}: ${fact}`);
console.log(`\n${date} · ${mode} run · ${machine} · ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log('ratio: times better than the baseline (rates: value/baseline; times: baseline/value); > 1 beats it');
const resultsFile = join(benchDir, 'results.json');
const previous = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
const optIn = (entry) => OPT_IN_SUITES.includes(entry.suite);
if (!values.only) {
  writeFileSync(resultsFile, `${JSON.stringify([...results, ...previous.filter(optIn)], null, 2)}\n`);
  console.log('written: bench/results.json');
} else if (results.some(optIn)) {
  // An opt-in suite's entries replace its previous ones; every other entry stays as it was.
  const ran = new Set(suites);
  const merged = [...previous.filter((entry) => !(optIn(entry) && ran.has(entry.suite))), ...results.filter(optIn)];
  writeFileSync(resultsFile, `${JSON.stringify(merged, null, 2)}\n`);
  console.log(
    `written: bench/results.json (the ${suites.filter((name) => OPT_IN_SUITES.includes(name)).join(', ')} entries only)`,
  );
  if (!results.every(optIn)) console.log('not written: the other suites (results.json holds their complete runs only)');
} else {
  console.log('not written: bench/results.json holds complete runs only (this one ran --only)');
}

function printTable(rows) {
  const format = formatNumber;
  const lines = rows.map((row) => [
    row.name,
    row.omitted ? 'omitted' : `${format(row.value)} ${row.unit}`,
    row.omitted ? row.omitted : format(row.baseline),
    row.ratio === null || row.ratio === undefined ? '—' : `${row.ratio.toFixed(2)}×`,
    row.target ? `${row.met ? 'met' : 'MISSED'}: ${row.target}` : '',
  ]);
  const header = ['figure', 'value', 'baseline', 'ratio', 'target'];
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  const print = (cells) => console.log(`| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`);
  console.log('');
  print(header);
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const line of lines) print(line);
}
