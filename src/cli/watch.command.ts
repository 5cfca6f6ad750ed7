import { createParser } from 'eventsource-parser';
import { UnreachableError } from './api-client.js';
import type { LedgerEvent, Operation } from './api-types.js';
import type { Cli } from './context.js';
import { visibleLength } from './render.js';
import {
  applyEvent,
  boardLines,
  changeLines,
  exitCodeOf,
  isFinished,
  progressOf,
  type WatchProgress,
} from './watch.js';

/** `ops watch` exits with this when --timeout passes first. */
export const TIMED_OUT = 3;

/** A stream that broke is opened again from the last event seen, this many times in a row at most. */
const RECONNECTS = 5;
const RECONNECT_PAUSE_MS = 1_000;
/** On a terminal the running wave's elapsed time moves even when no event comes. */
const REDRAW_EVERY_MS = 1_000;

/**
 * Follows an operation live: its view once, then the SSE stream of what it
 * does next (`from` = its lastPosition, so nothing is missed or repeated),
 * folded by watch.ts. Resolves to the exit code: 0 completed, 2 aborted or
 * rolled back, 3 when `timeoutSeconds` passed first.
 */
export async function watchOperation(cli: Cli, operationId: string, timeoutSeconds?: number): Promise<number> {
  const op = await cli.client.getJson<Operation>(`/operations/${encodeURIComponent(operationId)}`);
  let progress = progressOf(op);
  const screen = cli.json ? jsonScreen(op) : cli.tty ? redrawingScreen(cli) : appendingScreen(cli);
  screen.start(progress);

  const stop = new AbortController();
  let timedOut = false;
  const timer =
    timeoutSeconds === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop.abort();
        }, timeoutSeconds * 1000);
  const ticker = cli.tty && !cli.json ? setInterval(() => screen.tick(progress), REDRAW_EVERY_MS) : undefined;

  try {
    let failures = 0;
    while (!isFinished(progress) && !stop.signal.aborted) {
      try {
        const response = await cli.client.open(
          '/events/stream',
          { operationId, from: progress.position },
          'text/event-stream',
          stop.signal,
        );
        await readEvents(response, stop.signal, (event) => {
          failures = 0;
          const before = progress;
          progress = applyEvent(progress, event);
          screen.event(before, progress, event);
          return isFinished(progress);
        });
      } catch (error) {
        if (stop.signal.aborted) break;
        if (!(error instanceof UnreachableError) && !isBrokenStream(error)) throw error;
        if (++failures > RECONNECTS) throw error;
      }
      // The stream ended or broke without the end: open it again from the last event seen.
      if (!isFinished(progress) && !stop.signal.aborted) await pause(RECONNECT_PAUSE_MS, stop.signal);
    }
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
  }
  if (timedOut && !isFinished(progress)) {
    cli.note(`error: timed out after ${timeoutSeconds} s; operation ${operationId} is still ${progress.status}`);
    return TIMED_OUT;
  }
  return exitCodeOf(progress) ?? 1;
}

/** Feeds the body to the SSE parser until `onEvent` says enough, the stream ends, or `signal` aborts. */
async function readEvents(
  response: Response,
  signal: AbortSignal,
  onEvent: (event: LedgerEvent) => boolean,
): Promise<void> {
  let done = false;
  const parser = createParser({
    onEvent: (message) => {
      if (!done) done = onEvent(JSON.parse(message.data) as LedgerEvent);
    },
  });
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!done && !signal.aborted) {
      const chunk = await reader.read();
      if (chunk.done) return;
      parser.feed(chunk.value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** The connection dropped mid-stream (the service restarted): worth opening again. */
function isBrokenStream(error: unknown): boolean {
  return error instanceof TypeError && /terminated|fetch failed|other side closed/i.test(error.message);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Where the watch is shown: plain appended lines, a board redrawn in place, or JSON lines. */
interface Screen {
  start(progress: WatchProgress): void;
  event(before: WatchProgress, after: WatchProgress, event: LedgerEvent): void;
  tick(progress: WatchProgress): void;
}

/** A pipe, a file, a CI log: the board once, then a line for each change, never rewritten. */
function appendingScreen(cli: Cli): Screen {
  return {
    start: (progress) => cli.print(boardLines(progress, Date.now(), cli.style)),
    event: (before, after) => cli.print(changeLines(before, after, Date.now(), cli.style)),
    tick: () => undefined,
  };
}

/** A terminal: the board drawn again over itself, so a wave's line fills and its time runs. */
function redrawingScreen(cli: Cli): Screen {
  let rows = 0;
  const draw = (progress: WatchProgress) => {
    const lines = boardLines(progress, Date.now(), cli.style);
    const up = rows > 0 ? `\x1b[${rows}A\x1b[J` : '';
    process.stdout.write(up + lines.map((line) => `${line}\n`).join(''));
    const columns = process.stdout.columns || 80;
    // A line wider than the terminal takes several rows; moving up must count them all.
    rows = lines.reduce((sum, line) => sum + Math.max(1, Math.ceil(visibleLength(line) / columns)), 0);
  };
  return { start: draw, event: (_, after) => draw(after), tick: draw };
}

/** `-o json`: the operation as the API answered it, then each event of the stream, one JSON document a line. */
function jsonScreen(op: Operation): Screen {
  const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  return { start: () => line(op), event: (_, __, event) => line(event), tick: () => undefined };
}
