import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/testing/free-port.js';
import { pollUntil } from '../../src/testing/poll-until.js';
import { TOKENS, type TestPrincipal } from './test-app.js';

/**
 * The built commands, as `npm start` and `npm run projections:rebuild` run
 * them. `npm test` builds first (pretest), so they are the code under test.
 */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
export const SERVICE = join(dist, 'main.js');
export const REBUILD = join(dist, 'rebuild.js');

export { freePort };

/** A command started in its own process, with everything it printed (stdout and stderr) so far. */
export interface Spawned {
  child: ChildProcess;
  output: () => string;
}

/** Starts `script` with only PATH and `env` as its environment. */
export function spawnScript(script: string, env: Record<string, string>): Spawned {
  let output = '';
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** A running service: its process and its base URL. */
export interface RunningService extends Spawned {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** kill -9, and wait until it is gone. */
  kill(): Promise<void>;
  /** A JSON call as `principal`. */
  call(
    principal: TestPrincipal,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<CallResult>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * Starts dist/main.js on a free port and resolves once it answers /health;
 * fails if it exits first, or (killing it) if it does not answer within `timeoutMs`.
 */
export async function startService(env: Record<string, string>, timeoutMs = 20_000): Promise<RunningService> {
  const port = await freePort();
  const spawned = spawnScript(SERVICE, { ...env, PORT: String(port) });
  const { child, output } = spawned;
  const base = `http://127.0.0.1:${port}`;
  try {
    await pollUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}: ${output()}`);
        try {
          return (await fetch(`${base}/health`)).ok;
        } catch {
          return false; // not listening yet
        }
      },
      {
        what: 'the service to answer /health',
        timeoutMs,
        intervalMs: 100,
        show: () => `no answer; output: ${output()}`,
      },
    );
  } catch (error) {
    child.kill('SIGKILL'); // a service that never answered must not hold its data folder after the test
    throw error;
  }
  return {
    ...spawned,
    base,
    kill: async () => {
      const gone = exitOf(child);
      child.kill('SIGKILL');
      await gone;
    },
    call: (principal, method, path, body, headers = {}) => callService(base, principal, method, path, body, headers),
  };
}

/** One JSON request as `principal`, with its status, headers and parsed body. */
export async function callService(
  base: string,
  principal: TestPrincipal,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<CallResult> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKENS[principal]}`, 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** The exit code (null after a signal). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Runs `script` to its end: its exit code and everything it printed. A
 * command that is still running after `timeoutMs` is killed and fails the
 * test (a service that should have refused to start would otherwise hang it).
 */
export async function runToExit(
  script: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnScript(script, env);
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} still ran after ${timeoutMs} ms; output: ${output()}`));
    }, timeoutMs);
  });
  try {
    return { code: await Promise.race([closed, late]), output: output() };
  } finally {
    clearTimeout(timer);
  }
}
