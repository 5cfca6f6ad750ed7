import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '../../src/testing/poll-until.js';
import { TOKENS, type TestPrincipal } from './test-app.js';

/**
 * The service as `npm start` runs it: the built dist/main.js in its own
 * process. `npm test` builds first (pretest), so this runs the code under test.
 */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const mainScript = join(root, 'dist', 'main.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
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

/** Starts dist/main.js with `env` (plus PATH and a free PORT) and waits until /health answers. */
export async function startService(
  env: Record<string, string>,
  options: { port?: number } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  let output = '';
  const child = spawn(process.execPath, [mainScript], {
    env: { PATH: process.env['PATH'] ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  await pollUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}: ${output}`);
      try {
        return (await fetch(`${base}/health`)).ok;
      } catch {
        return false; // not listening yet
      }
    },
    {
      what: 'the service to answer /health',
      timeoutMs: 20_000,
      intervalMs: 50,
      show: () => `no answer; output: ${output}`,
    },
  );
  return {
    child,
    base,
    output: () => output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = exitOf(child);
        child.kill('SIGKILL');
        await gone;
      }
    },
    call: (principal, method, path, body, headers = {}) => callService(base, principal, method, path, body, headers),
  };
}

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

/** The exit code (null when killed by a signal), once the process has exited. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
