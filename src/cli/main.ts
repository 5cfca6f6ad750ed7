#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ProblemError, UnreachableError, UsageError } from './api-client.js';
import { auditCommand, freezePurgesCommand, resumePurgesCommand, verifyCommand } from './ledger.commands.js';
import { opsCommand } from './ops.commands.js';
import { sitesCommand, statsCommand } from './sites.commands.js';
import { problemLines } from './views.js';

/**
 * `tenant-ledger`: the service's HTTP API for a person at a terminal or a
 * script. It is a client only (LEDGER_URL, LEDGER_TOKEN): it never opens the
 * ledger's files, so it works the same against any store and any instance.
 *
 * The version is `-V` only: commander reads a program option wherever it
 * stands, and `--version <n>` belongs to `sites get`.
 *
 * Exit codes: 0 done; 1 refused, failed or misused (the sentence says which);
 * `ops watch` adds 2 (aborted or rolled back) and 3 (--timeout).
 */
function program(): Command {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return new Command('tenant-ledger')
    .description('reads sites, runs reviewed deletion operations, exports and verifies the tenant ledger')
    .version(version, '-V', 'output the version number')
    .addOption(new Option('--url <url>', 'the service').env('LEDGER_URL').default('http://127.0.0.1:3000'))
    .addOption(
      new Option('--token <token>', 'a bearer token (better in LEDGER_TOKEN: not in shell history)').env(
        'LEDGER_TOKEN',
      ),
    )
    .addOption(
      new Option('-o, --output <format>', "human text or the API's JSON").choices(['human', 'json']).default('human'),
    )
    .option(
      '--idempotency-key <key>',
      'the Idempotency-Key of a write: repeat a call whose answer was lost with the same key',
    )
    .option('--no-idempotency-key', 'send writes without one (the EventStoreDB store refuses the header)')
    .addCommand(sitesCommand())
    .addCommand(statsCommand())
    .addCommand(opsCommand())
    .addCommand(auditCommand())
    .addCommand(verifyCommand())
    .addCommand(freezePurgesCommand())
    .addCommand(resumePurgesCommand())
    .showHelpAfterError('(run with --help for usage)');
}

/** An error as one sentence on stderr; with -o json a problem's document goes to stdout too, for scripts. */
function report(error: unknown, json: boolean): void {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (error instanceof ProblemError) {
    if (json) process.stdout.write(`${JSON.stringify(error.problem, null, 2)}\n`);
    for (const line of problemLines(error.problem)) say(line);
    if (error.problem.code === 'idempotency.unsupported')
      say('(this store keeps no keys: run with --no-idempotency-key)');
  } else if (error instanceof UnreachableError) {
    say(`error: ${error.message}; is the service running? Set LEDGER_URL or --url.`);
    if (error.idempotencyKey) {
      say(
        `the request may have been recorded: repeat it with --idempotency-key ${error.idempotencyKey} to get its answer without recording it twice`,
      );
    }
  } else if (error instanceof UsageError) {
    say(`error: ${error.message}`);
  } else {
    say(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const cli = program();
await cli.parseAsync(process.argv).catch((error: unknown) => {
  report(error, cli.opts<{ output?: string }>().output === 'json');
  process.exitCode = 1;
});
