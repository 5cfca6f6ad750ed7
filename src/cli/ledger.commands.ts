import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command, Option } from 'commander';
import { ProblemError, UsageError } from './api-client.js';
import type { PurgePolicy, VerifyReport } from './api-types.js';
import { action } from './context.js';
import { countingStream, RowCounter } from './export-progress.js';
import { bytes } from './render.js';
import { policyLines, verifyLines } from './views.js';

const EXPORT_TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

export function auditCommand(): Command {
  const audit = new Command('audit').description('who did what, when and why');
  audit
    .command('export')
    .description('stream every matching event to stdout (progress on stderr): tenant-ledger audit export > file')
    .addOption(new Option('--format <format>', 'one event a line, or CSV').choices(['ndjson', 'csv']).default('ndjson'))
    .option('--site-id <siteId>', "the site's own events")
    .option('--operation-id <operationId>', "the operation's events, its deletions and the restores that undo them")
    .option('--actor <principal>', 'events recorded for this principal')
    .option('--type <types>', 'event types, a comma list')
    .option('--from <time>', 'occurred at or after this RFC 3339 time')
    .option('--to <time>', 'occurred at or before this RFC 3339 time')
    .option('--correlation-id <id>', 'the X-Correlation-Id a client sent')
    .option('--ticket <ticket>', "the ticket recorded with it (a wave's events carry their operation's)")
    .action(
      action(async (cli, options: Record<string, string | undefined> & { format: 'ndjson' | 'csv' }) => {
        const { format, ...filters } = options;
        const response = await cli.client.open('/audit/events', { ...filters, format }, EXPORT_TYPES[format]);
        const counter = new RowCounter(format);
        // On a terminal the count runs in place; in a log it is said once, at the end.
        const live = process.stderr.isTTY === true;
        const say = (final: boolean) =>
          process.stderr.write(
            `${live ? '\r\x1b[K' : ''}exported ${counter.rows} rows (${bytes(counter.bytes)})${final ? '\n' : ''}`,
          );
        try {
          await pipeline(
            Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
            countingStream(counter, () => live && say(false), 200),
            process.stdout,
          );
        } catch (error) {
          // `… | head` closed stdout: what was wanted was written.
          if ((error as { code?: unknown }).code !== 'EPIPE') throw error;
        }
        say(true);
      }),
    );
  return audit;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description(
      'recompute every hash chain and the Merkle tree; with --state, prove the log extends the checkpoint kept there, then keep the newest',
    )
    .option('--state <file>', 'where the last checked checkpoint is kept (written on success)')
    .action(
      action(async (cli, options: { state?: string }) => {
        const newest = await cli.client.getText('/ledger/checkpoint');
        const kept = options.state !== undefined && existsSync(options.state) ? readKept(options.state) : undefined;
        // One pass either way: against the kept checkpoint, or, on a first run, against the one about to be kept.
        const report = await cli.client
          .getJson<VerifyReport>('/ledger/verify', { checkpoint: kept ?? newest })
          .catch((error: unknown) => {
            if (kept === undefined || !(error instanceof ProblemError) || error.problem.status !== 400) throw error;
            const { problem } = error;
            throw new ProblemError({
              ...problem,
              detail: `${problem.detail} (the checkpoint kept in ${options.state})`,
            });
          });
        const against = kept === undefined ? 'the checkpoint it signs now' : `the checkpoint kept in ${options.state}`;
        if (cli.json) cli.printJson(report);
        else cli.print(verifyLines(report, cli.style, against));
        if (!report.ok) {
          cli.note(
            report.consistent === false
              ? `error: the ledger does not extend ${against}: its history was rewritten or cut short`
              : 'error: the ledger does not verify: a hash chain is broken',
          );
          return 1;
        }
        if (options.state !== undefined) {
          keep(options.state, newest);
          if (!cli.json) cli.print([`kept the newest checkpoint (size ${newest.split('\n')[1]}) in ${options.state}`]);
        }
      }),
    );
}

function readKept(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Written beside and renamed over, so a crash never leaves half a checkpoint to compare with. */
function keep(file: string, checkpoint: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, checkpoint, { mode: 0o600 });
  renameSync(temporary, file);
}

function purgeSwitch(name: string, paused: boolean, description: string): Command {
  return new Command(name)
    .description(description)
    .requiredOption('--reason <reason>', 'why (recorded)')
    .action(
      action(async (cli, options: { reason: string }) => {
        const policy = await cli.client.send<PurgePolicy>('PUT', '/policy/purge', { paused, reason: options.reason });
        if (cli.json) cli.printJson(policy);
        else cli.print(policyLines(policy, cli.style));
      }),
    );
}

export const freezePurgesCommand = () =>
  purgeSwitch(
    'freeze-purges',
    true,
    'stop the retention sweeper purging anything (admin): the first move in an incident',
  );
export const resumePurgesCommand = () =>
  purgeSwitch('resume-purges', false, 'let the retention sweeper purge expired sites again (admin)');
