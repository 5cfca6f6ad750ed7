import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { styleFor, type Style } from './render.js';

/** What every command works with: the API, and how to print for whoever reads its output. */
export interface Cli {
  client: ApiClient;
  /** `-o json`: print the API's JSON answer as it is, for scripts. */
  json: boolean;
  /** stdout is a terminal: colours (unless NO_COLOR) and redrawing in place are allowed. */
  tty: boolean;
  style: Style;
  /** Lines for a person, on stdout. */
  print(lines: readonly string[]): void;
  /** The API's answer, on stdout. */
  printJson(value: unknown): void;
  /** Progress and notes, on stderr: they never mix into what a script captures. */
  note(line: string): void;
}

export interface GlobalOptions {
  url: string;
  token?: string;
  output: 'human' | 'json';
  idempotencyKey?: string | false;
}

export function contextOf(command: Command): Cli {
  const options = command.optsWithGlobals<GlobalOptions>();
  const tty = process.stdout.isTTY === true;
  return {
    client: new ApiClient({ url: options.url, token: options.token, idempotencyKey: options.idempotencyKey }),
    json: options.output === 'json',
    tty,
    style: styleFor(process.stdout, process.env),
    print: (lines) => void process.stdout.write(lines.map((line) => `${line}\n`).join('')),
    printJson: (value) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    note: (line) => void process.stderr.write(`${line}\n`),
  };
}

/**
 * A commander action with the CLI context first; what it resolves to is the
 * exit code (commander passes the positional arguments, the options, then
 * the command itself).
 */
export function action<A extends unknown[]>(
  handler: (cli: Cli, ...args: A) => Promise<number | void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    const code = await handler(contextOf(command), ...(args.slice(0, -1) as A));
    if (code) process.exitCode = code;
  };
}
