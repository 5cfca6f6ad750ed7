import { Command, Option } from 'commander';
import type { Operation, OperationsPage, RollbackResult } from './api-types.js';
import { action, type Cli } from './context.js';
import { positiveInteger, positiveSeconds, readIdsFile } from './options.js';
import { allPages } from './paging.js';
import { operationLines, operationStateLine, operationsTable, planLines, rollbackLines } from './views.js';
import { watchOperation } from './watch.command.js';
import { continueCommand } from './watch.js';

const operation = (id: string) => `/operations/${encodeURIComponent(id)}`;

/** A step of an operation: its answer as the API gave it, or where the operation now stands and what comes next. */
function showStep(cli: Cli, answer: Operation, next: string[] = []): void {
  if (cli.json) cli.printJson(answer);
  else cli.print([operationStateLine(answer, cli.style), ...next]);
}

export function opsCommand(): Command {
  const ops = new Command('ops').description('deletion operations: plan, approve, execute, watch, roll back');

  ops
    .command('plan')
    .description('plan a soft delete of the sites in a file; every ID is resolved, one problem refuses the whole plan')
    .requiredOption('--ids-file <file>', 'site IDs, one or more a line (# comments; - reads stdin)')
    .requiredOption('--reason <reason>', 'why these sites go (recorded)')
    .option('--ticket <ticket>', 'the change ticket (recorded)')
    .action(
      action(async (cli, options: { idsFile: string; reason: string; ticket?: string }) => {
        const siteIds = readIdsFile(options.idsFile);
        const planned = await cli.client.send<Operation>('POST', '/operations', {
          action: 'soft-delete',
          siteIds,
          reason: options.reason,
          ...(options.ticket === undefined ? {} : { ticket: options.ticket }),
        });
        if (cli.json) cli.printJson(planned);
        else cli.print(planLines(planned, cli.style));
      }),
    );

  ops
    .command('approve')
    .description('approve a plan you reviewed, naming its digest (an approver who is not the requester)')
    .argument('<operationId>')
    .requiredOption('--digest <digest>', 'the digest of the plan you reviewed')
    .action(
      action(async (cli, id: string, options: { digest: string }) => {
        const answer = await cli.client.send<Operation>('POST', `${operation(id)}/approve`, { digest: options.digest });
        const ready = answer.status === 'approved';
        showStep(cli, answer, [
          ready
            ? `next: an operator runs  tenant-ledger ops execute ${id} --digest ${options.digest}`
            : `next: ${answer.requiredApprovals - answer.approvals.length} more approval(s) needed`,
        ]);
      }),
    );

  ops
    .command('execute')
    .description('start the waves of an approved operation: wave 1 runs, then it pauses')
    .argument('<operationId>')
    .requiredOption('--digest <digest>', 'the digest of the approved plan')
    .action(
      action(async (cli, id: string, options: { digest: string }) => {
        const answer = await cli.client.send<Operation>('POST', `${operation(id)}/execute`, { digest: options.digest });
        showStep(cli, answer, [`follow it with  tenant-ledger ops watch ${id}`]);
      }),
    );

  ops
    .command('continue')
    .description('run the next wave of a paused operation')
    .argument('<operationId>')
    .action(
      action(async (cli, id: string) => {
        const answer = await cli.client.send<Operation>('POST', `${operation(id)}/continue`, {});
        showStep(cli, answer, [`follow it with  tenant-ledger ops watch ${id}`]);
      }),
    );

  ops
    .command('abort')
    .description('stop further waves (deleted sites stay deleted until a rollback)')
    .argument('<operationId>')
    .requiredOption('--reason <reason>', 'why it stops (recorded)')
    .action(
      action(async (cli, id: string, options: { reason: string }) => {
        const answer = await cli.client.send<Operation>('POST', `${operation(id)}/abort`, { reason: options.reason });
        showStep(cli, answer, [`restore what it deleted with  tenant-ledger ops rollback ${id} --reason "<why>"`]);
      }),
    );

  ops
    .command('rollback')
    .description('restore every site this operation deleted that is still deleted')
    .argument('<operationId>')
    .requiredOption('--reason <reason>', 'why (recorded)')
    .option('--dry-run', 'only report what would be restored')
    .action(
      action(async (cli, id: string, options: { reason: string; dryRun?: boolean }) => {
        const result = await cli.client.send<RollbackResult>('POST', `${operation(id)}/rollback`, {
          reason: options.reason,
          dryRun: options.dryRun === true,
        });
        if (cli.json) cli.printJson(result);
        else cli.print(rollbackLines(result, cli.style));
      }),
    );

  ops
    .command('get')
    .description('one operation: plan, approvals, waves, progress')
    .argument('<operationId>')
    .action(
      action(async (cli, id: string) => {
        const answer = await cli.client.getJson<Operation>(operation(id));
        if (cli.json) cli.printJson(answer);
        else {
          const paused = answer.status === 'paused' ? ['', `continue with  ${continueCommand(id)}`] : [];
          cli.print([...operationLines(answer, cli.style), ...paused]);
        }
      }),
    );

  ops
    .command('list')
    .description('operations, oldest first (every page)')
    .addOption(
      new Option('--status <status>').choices([
        'rejected',
        'planned',
        'approved',
        'running',
        'paused',
        'completed',
        'aborted',
        'rolled-back',
      ]),
    )
    .option('--limit <n>', 'at most this many operations', positiveInteger)
    .action(
      action(async (cli, options: { status?: string; limit?: number }) => {
        const { items } = await allPages(
          (cursor, limit) =>
            cli.client.getJson<OperationsPage>('/operations', { status: options.status, limit, cursor }),
          (page) => page.operations,
          { pageSize: 200, max: options.limit },
        );
        if (cli.json) cli.printJson({ operations: items });
        else cli.print(operationsTable(items, cli.style));
      }),
    );

  ops
    .command('watch')
    .description(
      'follow an operation live, wave by wave; exits 0 when it completes, 2 when aborted or rolled back, 3 on --timeout',
    )
    .argument('<operationId>')
    .option('--timeout <seconds>', 'give up after this long (exit 3)', positiveSeconds)
    .action(action((cli, id: string, options: { timeout?: number }) => watchOperation(cli, id, options.timeout)));

  return ops;
}
