import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/testing/free-port.js';

/** The product's entry point as the bench compiled it (bench/.tmp/build/src/main.js): `node dist/main.js`. */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export { freePort };

/** Reads until `done`, with a deadline (no sleep stands in for the work). */
export async function until<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:PORT */
  base: string;
  /** The last 64 kB the process wrote (stdout and stderr). */
  output(): string;
  /** SIGTERM (the service closes its stores), resolved with the exit code once it is gone; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string | null>;
}

/**
 * `node main.js` with only PATH and `env`, on a free port; resolves once
 * /health/ready answers 200 (its read models caught up with the ledger).
 */
export async function startServiceProcess(
  env: Record<string, string>,
  options: {
    readyWithinMs: number;
    /** Node's own flags, before main.js (`--trace-gc`, say). */
    nodeArgs?: readonly string[];
    /** Each line the process writes to stdout, as it comes. */
    onLine?: (line: string) => void;
  },
): Promise<ServiceProcess> {
  const port = await freePort();
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-65_536);
  };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN], {
    env: { PATH: process.env['PATH'] ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const onLine = options.onLine;
  if (onLine) createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', onLine);
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const base = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`the service exited ${child.exitCode}: ${output}`);
      return fetch(`${base}/health/ready`).then(
        (response) => response.status === 200,
        () => false,
      );
    },
    Boolean,
    options.readyWithinMs,
    'the service to answer /health/ready',
  );
  return {
    child,
    pid: child.pid!,
    base,
    output: () => output,
    stop: async (graceMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
