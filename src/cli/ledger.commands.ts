import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command, Option } from 'commander';
import { DomainError } from '../common/domain-error.js';
import { type Checkpoint, openCheckpoint } from '../transparency/checkpoint.js';
import { verifyConsistency } from '../transparency/merkle.js';
import { type NoteVerifier, parseVerifierKey } from '../transparency/signed-note.js';
import { UsageError } from './api-client.js';
import type { PurgePolicy, VerifyReport } from './api-types.js';
import { action, type Cli } from './context.js';
import { countingStream, RowCounter } from './export-progress.js';
import { bytes, type Style } from './render.js';
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

/**
 * What `verify --state` keeps between runs: the log's verifier key, pinned
 * on the first run, and the newest checkpoint it checked. The client checks
 * signatures and the consistency proof itself, so a service that rewrote
 * its history (or its key) cannot talk its way past a kept checkpoint.
 */
interface KeptState {
  verifierKey: string;
  checkpoint: string;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description(
      'recompute every hash chain and the Merkle tree; with --state, check here that the log extends the checkpoint kept there (signature and consistency proof), then keep the newest',
    )
    .option('--state <file>', 'where the verifier key and the last checked checkpoint are kept (written on success)')
    .option(
      '--key <verifierKey>',
      'the verifier key printed at the service start (default: the kept one, else the served one)',
    )
    .action(
      action(async (cli, options: { state?: string; key?: string }) => {
        const kept = options.state !== undefined && existsSync(options.state) ? readKept(options.state) : undefined;
        if (kept && options.key !== undefined && options.key !== kept.verifierKey) {
          throw new UsageError(`--key is not the key kept in ${options.state}; a log's key does not change`);
        }
        let verifierKey = options.key ?? kept?.verifierKey;
        if (verifierKey === undefined) {
          verifierKey = (await cli.client.getJson<{ verifierKey: string }>('/ledger/checkpoint-key')).verifierKey;
          cli.note(`trusting the key the service serves: ${verifierKey} (compare it with the one it printed at start)`);
        }
        const verifier = verifierOf(verifierKey);
        const newestNote = await cli.client.getText('/ledger/checkpoint');
        const newest = opened(newestNote, verifier, 'the checkpoint the service signs now');
        const local = kept
          ? await extendsKept(cli, verifier, opened(kept.checkpoint, verifier, options.state!), newest)
          : undefined;
        // The service recomputes every chain and the tree from its store in one pass.
        const report = await cli.client.getJson<VerifyReport>('/ledger/verify', {
          checkpoint: kept?.checkpoint ?? newestNote,
        });
        const against = kept === undefined ? 'the checkpoint it signs now' : `the checkpoint kept in ${options.state}`;
        if (cli.json) cli.printJson(local === undefined ? report : { ...report, client: local });
        else
          cli.print([
            ...(local ? [clientLine(local, cli.style, against)] : []),
            ...verifyLines(report, cli.style, against),
          ]);
        if (local?.consistent === false || !report.ok) {
          cli.note(
            local?.consistent === false || report.consistent === false
              ? `error: the ledger does not extend ${against}: its history was rewritten or cut short`
              : 'error: the ledger does not verify: a hash chain is broken',
          );
          return 1;
        }
        if (options.state !== undefined) {
          keep(options.state, { verifierKey, checkpoint: newestNote });
          if (!cli.json) cli.print([`kept the newest checkpoint (size ${newest.size}) in ${options.state}`]);
        }
      }),
    );
}

/** What the client itself found: the newest signed checkpoint, and whether a proof shows it extends the kept one. */
interface ClientCheck {
  kept: { size: number; root: string };
  newest: { size: number; root: string };
  consistent: boolean;
  why?: string;
}

async function extendsKept(
  cli: Cli,
  verifier: NoteVerifier,
  kept: Checkpoint,
  newest: Checkpoint,
): Promise<ClientCheck> {
  const sizes = { kept: summary(kept), newest: summary(newest) };
  if (newest.size < kept.size) {
    return {
      ...sizes,
      consistent: false,
      why: `the log signs ${newest.size} events, fewer than the ${kept.size} kept`,
    };
  }
  const { proof } = await cli.client.getJson<{ proof: string[] }>('/ledger/proofs/consistency', {
    from: kept.size,
    to: newest.size,
  });
  const consistent = verifyConsistency({
    oldSize: kept.size,
    newSize: newest.size,
    oldRoot: kept.rootHash,
    newRoot: newest.rootHash,
    proof: proof.map((hash) => Buffer.from(hash, 'base64')),
  });
  return consistent ? { ...sizes, consistent } : { ...sizes, consistent, why: 'the consistency proof does not hold' };
}

function clientLine(check: ClientCheck, style: Style, against: string): string {
  const what = `checked here: the signed checkpoint (size ${check.newest.size})`;
  return check.consistent
    ? style.green(`${what} extends ${against} (size ${check.kept.size}), by its consistency proof`)
    : style.red(`${what} does NOT extend ${against} (size ${check.kept.size}): ${check.why}`);
}

const summary = ({ size, rootHash }: Checkpoint) => ({ size, root: rootHash.toString('base64') });

function verifierOf(verifierKey: string): NoteVerifier {
  try {
    return parseVerifierKey(verifierKey);
  } catch (error) {
    throw new UsageError(`not a verifier key: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A checkpoint opened with the kept key: a bad signature, origin or form is a refusal, never a warning. */
function opened(note: string, verifier: NoteVerifier, what: string): Checkpoint {
  try {
    return openCheckpoint(note, verifier, verifier.name);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new UsageError(`${error.code} — ${error.message} (${what})`);
  }
}

function readKept(file: string): KeptState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const state = JSON.parse(text) as Partial<KeptState>;
    if (typeof state.verifierKey === 'string' && typeof state.checkpoint === 'string') {
      return { verifierKey: state.verifierKey, checkpoint: state.checkpoint };
    }
  } catch {
    // reported below
  }
  throw new UsageError(`${file} is not a state file that tenant-ledger verify wrote`);
}

/** Written beside and renamed over, so a crash never leaves half a state to compare with. */
function keep(file: string, state: KeptState): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
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
