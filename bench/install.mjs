#!/usr/bin/env node
// The benchmark tools (bench/package.json) in bench/node_modules, installed
// from bench/package-lock.json when missing; never in the product's dependencies.
// A peer whose dependencies clash with the tools' has a folder of its own,
// bench/peers/<name>/ with its package.json and lockfile, installed the same way:
// Emmett's PostgreSQL store needs @event-driven-io/emmett 0.42.0 as a peer
// dependency, which npm puts at the top of the tree, where the SQLite peer's
// 0.38.5 already is.
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
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));

/** Every folder with its own package.json and lockfile; bench/ first. */
export const PACKAGE_DIRS = [benchDir, join(benchDir, 'peers', 'postgres')];

/** Installs each package folder's node_modules unless what `purpose` needs is there already. */
export function installBenchTools(purpose) {
  for (const dir of PACKAGE_DIRS) {
    if (purpose === 'types' ? typesReady(dir) : runReady(dir)) continue;
    const where = `${relative(dirname(benchDir), dir)}/node_modules`;
    console.error(
      purpose === 'types'
        ? `bench: installing the benchmark tools into ${where} for the type check (no install scripts)`
        : dir === benchDir
          ? `bench: installing the benchmark tools into ${where} (sqlite3 compiles from source, about 2 minutes)`
          : `bench: installing the benchmark tools into ${where}`,
    );
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const args = ['ci', '--prefix', dir, '--no-audit', '--no-fund'];
    if (purpose === 'types') args.push('--ignore-scripts');
    const result = spawnSync(npm, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`bench: ${npm} ${args.join(' ')} failed (${result.status ?? result.signal})`);
      process.exit(1);
    }
  }
}

/** Every dependency of the folder's package.json is in its node_modules. */
function typesReady(dir) {
  const { dependencies = {} } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return Object.keys(dependencies).every((name) => existsSync(join(dir, 'node_modules', name, 'package.json')));
}

/** And, in bench/, sqlite3's native module is built (a --types install skips that). The peers build nothing. */
function runReady(dir) {
  if (!typesReady(dir)) return false;
  if (dir !== benchDir) return true;
  return spawnSync(process.execPath, ['-e', "require('sqlite3')"], { cwd: benchDir, stdio: 'ignore' }).status === 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  installBenchTools(process.argv.includes('--types') ? 'types' : 'run');
}
