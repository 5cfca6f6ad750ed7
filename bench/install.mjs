#!/usr/bin/env node
// The benchmark tools (bench/package.json) in bench/node_modules, installed
// from bench/package-lock.json when missing; never in the product's dependencies.
//
//   node bench/install.mjs           what `npm run bench` needs: install scripts run
//                                    (sqlite3 compiles from source, about 2 minutes)
//   node bench/install.mjs --types   enough to type-check bench/ (`npm run typecheck`):
//                                    no install scripts, a few seconds
//
// A --types install leaves sqlite3 unbuilt; the next bench run notices and
// installs again with the scripts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));

/** Installs bench/node_modules unless what `purpose` needs is there already. */
export function installBenchTools(purpose) {
  if (purpose === 'types' ? typesReady() : runReady()) return;
  console.error(
    purpose === 'types'
      ? 'bench: installing the benchmark tools into bench/node_modules for the type check (no install scripts)'
      : 'bench: installing the benchmark tools into bench/node_modules (sqlite3 compiles from source, about 2 minutes)',
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['ci', '--prefix', benchDir, '--no-audit', '--no-fund'];
  if (purpose === 'types') args.push('--ignore-scripts');
  const result = spawnSync(npm, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`bench: ${npm} ${args.join(' ')} failed (${result.status ?? result.signal})`);
    process.exit(1);
  }
}

/** Every dependency of bench/package.json is in bench/node_modules. */
function typesReady() {
  const { dependencies = {} } = JSON.parse(readFileSync(join(benchDir, 'package.json'), 'utf8'));
  return Object.keys(dependencies).every((name) => existsSync(join(benchDir, 'node_modules', name, 'package.json')));
}

/** And sqlite3's native module is built (a --types install skips that). */
function runReady() {
  if (!typesReady()) return false;
  return spawnSync(process.execPath, ['-e', "require('sqlite3')"], { cwd: benchDir, stdio: 'ignore' }).status === 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  installBenchTools(process.argv.includes('--types') ? 'types' : 'run');
}
