import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The rebuild as it was before this round of work on it (one thread, one
 * read-model file): the commit the rebuild figure is measured against, in
 * the same run, on the same ledger.
 */
export const REBUILD_BASELINE_COMMIT = '40a81d7';

// This file runs from bench/.tmp/build/bench/src/.
const root = fileURLToPath(new URL('../../../../../', import.meta.url));

/** `npm run projections:rebuild` as this run compiled it (bench/.tmp/build/src/rebuild.js). */
export const OUR_REBUILD = fileURLToPath(new URL('../../src/rebuild.js', import.meta.url));

/**
 * Compiles the product's sources at `commit` (git archive, tsc with that
 * commit's tsconfig.build.json, this checkout's node_modules) into
 * bench/.tmp/baseline-<commit>/, once. Returns its rebuild.js, or why it
 * cannot (no git, or a checkout without that commit).
 */
export function baselineRebuild(commit: string): { script: string } | { missing: string } {
  const dir = join(root, 'bench', '.tmp', `baseline-${commit}`);
  const script = join(dir, 'dist', 'rebuild.js');
  if (existsSync(script)) return { script };
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync(
      'git',
      ['-C', root, 'archive', commit, 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'],
      { maxBuffer: 256 * 2 ** 20 },
    ); // the default megabyte is far less than the sources
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.build.json')],
      {
        stdio: 'inherit',
      },
    );
    return { script };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const missing = `cannot build the rebuild of commit ${commit}: ${error instanceof Error ? error.message : String(error)}`;
    console.error(`bench: ${missing}`);
    return { missing };
  }
}

export interface RebuildRun {
  /** Wall time of the whole command, from spawn to exit (Node's start and module loading included). */
  ms: number;
  /** Events it says it applied. */
  events: number;
  /** CPU seconds (user + system) of the process and its threads. */
  cpuSeconds: number;
}

/** Runs a rebuild.js in a child process with `env`, as `npm run projections:rebuild` would. */
export function runRebuild(script: string, env: Record<string, string>): Promise<RebuildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const cpuBefore = childrenCpuSeconds();
    const child = spawn(process.execPath, [script], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dirname(script),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      const events = /rebuilt the read models from (\d+) events/.exec(output);
      if (code !== 0 || events === null) {
        reject(new Error(`${script} exited ${code}: ${output.slice(-2000)}`));
        return;
      }
      resolve({ ms, events: Number(events[1]), cpuSeconds: childrenCpuSeconds() - cpuBefore });
    });
  });
}

/**
 * CPU seconds (user + system) of every child this process has waited for,
 * threads included: /proc/self/stat's cutime + cstime, in clock ticks of
 * 1/100 s (Linux's USER_HZ). A child's times are added once it is reaped,
 * before its 'exit' event. NaN where there is no /proc.
 */
function childrenCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields from the third (state); cutime and cstime are the 16th and 17th.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}
