import { inspect } from 'node:util';

export interface PollOptions<T> {
  /** What the caller waits for, as the error names it: `operation op-1 to be completed`. */
  what: string;
  /** Whether a value read is the one awaited; by default any truthy value. */
  done?: (value: T) => boolean;
  /** How long to keep reading: once this much time has passed, the next read that is not `done` fails. */
  timeoutMs: number;
  /** Pause between reads. */
  intervalMs?: number;
  /** The last value read, as the error shows it; `util.inspect` by default. */
  show?: (value: T) => string;
}

/**
 * Reads until `done(value)` holds, and resolves with that value; a deadline,
 * not a sleep standing in for the work. Fails after `timeoutMs` with an error
 * naming `what` and the last value read. An error thrown by `read` fails at
 * once: a read that can tell the wait is hopeless (the process exited, the
 * stream ended) throws rather than waits out the deadline.
 */
export async function pollUntil<T>(read: () => T | Promise<T>, options: PollOptions<T>): Promise<T> {
  const { what, done = Boolean, timeoutMs, intervalMs = 20, show = inspectOneLine } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${show(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function inspectOneLine(value: unknown): string {
  return inspect(value, { breakLength: Infinity });
}
