import type {
  LedgerEvent,
  Operation,
  Problem,
  PurgePolicy,
  RollbackResult,
  Site,
  Stats,
  VerifyReport,
} from './api-types.js';
import { fields, idList, statusText, table, type Style } from './render.js';

/** How each answer of the API reads for a person (`-o json` prints the answer itself instead). */

const orDash = (value: string | null | undefined): string => (value === null || value === undefined ? '-' : value);

export function siteLines(site: Site, style: Style): string[] {
  const contacts = (site.contacts ?? []).map((contact) =>
    'redacted' in contact ? 'redacted (purged)' : `${contact.name} <${contact.email}> ${contact.role}`,
  );
  const hold = site.legalHold;
  return fields(
    [
      ['site', style.bold(site.siteId)],
      ['customer', site.customerId],
      ['name', site.name],
      ['region', orDash(site.region)],
      ['internal', site.internal ? 'yes' : 'no'],
      ['status', statusText(site.status, style)],
      ['products', site.products.map((p) => `${p.installationId} (${p.productKey})`).join(', ') || '-'],
      ['contacts', contacts.join('; ') || '-'],
      ['protection', site.deletionProtection ? 'deletion protected' : 'none'],
      ['legal hold', hold ? `${hold.reason} (${hold.reference}, by ${hold.placedBy} at ${hold.placedAt})` : 'none'],
      ['retention', site.retention],
      ...(site.deletedAt
        ? [['deleted at', site.deletedAt] as const, ['purge after', orDash(site.purgeAfter)] as const]
        : []),
      ...(site.purgedAt ? [['purged at', site.purgedAt] as const] : []),
      ['version', String(site.version)],
      ['updated at', site.updatedAt],
      ...(site.asOf ? [['as of', site.asOf] as const] : []),
    ],
    style,
  );
}

export function sitesTable(sites: readonly Site[], style: Style): string[] {
  if (sites.length === 0) return ['no sites match'];
  return table(
    ['SITE', 'CUSTOMER', 'STATUS', 'INTERNAL', 'REGION', 'NAME'],
    sites.map((site) => [
      site.siteId,
      site.customerId,
      statusText(site.status, style),
      site.internal ? 'yes' : '',
      orDash(site.region),
      site.name,
    ]),
    style,
  );
}

export function historyTable(events: readonly LedgerEvent[], style: Style): string[] {
  return table(
    ['VERSION', 'AT', 'TYPE', 'ACTOR', 'WHY'],
    events.map((event) => [
      String(event.version),
      event.occurredAt,
      event.type,
      event.actor,
      [event.metadata.reason, event.metadata.ticket, event.metadata.operationId].filter(Boolean).join(' · '),
    ]),
    style,
  );
}

export function statsLines(stats: Stats, style: Style): string[] {
  return [
    ...(stats.asOf ? [`as of ${stats.asOf}`] : []),
    ...table(
      ['STATUS', 'SITES'],
      [
        ...Object.entries(stats.byStatus).map(([status, count]) => [statusText(status, style), String(count)]),
        [style.bold('total'), style.bold(String(stats.total))],
      ],
      style,
    ),
  ];
}

/** An operation: what it deletes, who approved it, its waves and where it stands. */
export function operationLines(op: Operation, style: Style): string[] {
  const lines = [
    `${style.bold(op.operationId)}  ${statusText(op.status, style)}  ${op.action}`,
    ...fields(
      [
        ['reason', op.reason],
        ['ticket', orDash(op.ticket)],
        ['requested', `by ${op.requestedBy} at ${op.createdAt}`],
        [
          'targets',
          `${op.summary.sites} sites of ${op.summary.customers} customers, ${op.summary.internalSites} internal`,
        ],
        [
          'approvals',
          `${op.approvals.length} of ${op.requiredApprovals}` +
            (op.approvals.length > 0 ? ` (${op.approvals.map((a) => a.approvedBy).join(', ')})` : ''),
        ],
        [
          'progress',
          `${op.progress.deleted} deleted, ${op.progress.skipped} skipped, ${op.progress.restored} restored of ${op.progress.total}`,
        ],
      ],
      style,
    ),
  ];
  if (op.waves.length > 0) {
    lines.push(
      '',
      ...table(
        ['WAVE', 'KIND', 'STATUS', 'SITES'],
        op.waves.map((wave) => [String(wave.index), wave.kind, statusText(wave.status, style), idList(wave.siteIds)]),
        style,
      ),
    );
    for (const wave of op.waves) {
      for (const skipped of wave.skipped)
        lines.push(`  wave ${wave.index} skipped ${skipped.siteId}: ${skipped.reason}`);
    }
  }
  if (op.abort) lines.push('', `aborted by ${op.abort.abortedBy} at ${op.abort.at}: ${op.abort.reason}`);
  for (const rollback of op.rollbacks) {
    lines.push(
      '',
      `rolled back by ${rollback.rolledBackBy} at ${rollback.at}: ${rollback.reason} — ` +
        `${rollback.restored.length} restored, ${rollback.skipped.length} skipped`,
    );
  }
  if (op.problems) lines.push('', ...op.problems.map((problem) => problemLine(problem)));
  if (op.digest) lines.push('', `${style.dim('digest')}  ${op.digest}`);
  return lines;
}

/** Where an operation stands after a step (approve, execute, continue, abort), in one line. */
export function operationStateLine(op: Operation, style: Style): string {
  const waves = op.waves.filter((wave) => wave.status === 'completed').length;
  const { deleted, skipped, total } = op.progress;
  return (
    `${style.bold(op.operationId)}  ${statusText(op.status, style)}  ` +
    `approvals ${op.approvals.length} of ${op.requiredApprovals} · ${waves} of ${op.waves.length} waves run · ` +
    `${deleted} of ${total} sites deleted, ${skipped} skipped`
  );
}

/** A fresh plan, and the step that comes next: approval by someone else, naming this digest. */
export function planLines(op: Operation, style: Style): string[] {
  return [
    ...operationLines(op, style),
    '',
    `next: an approver (not ${op.requestedBy}) reviews it and runs`,
    `  tenant-ledger ops approve ${op.operationId} --digest ${op.digest}`,
  ];
}

export function operationsTable(ops: readonly Operation[], style: Style): string[] {
  if (ops.length === 0) return ['no operations'];
  return table(
    ['OPERATION', 'STATUS', 'SITES', 'DELETED', 'REQUESTED BY', 'CREATED', 'REASON'],
    ops.map((op) => [
      op.operationId,
      statusText(op.status, style),
      String(op.summary.sites),
      String(op.progress.deleted),
      op.requestedBy,
      op.createdAt,
      op.reason,
    ]),
    style,
  );
}

export function rollbackLines(result: RollbackResult, style: Style): string[] {
  const verb = result.dryRun ? 'would restore' : 'restored';
  return [
    `${result.dryRun ? style.yellow('dry run: nothing changed') : style.green('rolled back')}  ${result.operationId}`,
    `${verb} ${result.restored.length}: ${idList(result.restored, 20) || '-'}`,
    ...(result.skipped.length === 0 ? [] : [`skipped ${result.skipped.length}:`]),
    ...result.skipped.map((skipped) => `  ${skipped.siteId}: ${skipped.reason}`),
    `operation status: ${statusText(result.operation.status, style)}`,
  ];
}

export function policyLines(policy: PurgePolicy, style: Style): string[] {
  const state = policy.paused ? style.red('purging frozen') : style.green('purging resumed');
  return [`${state} by ${orDash(policy.changedBy)} at ${orDash(policy.changedAt)}: ${orDash(policy.reason)}`];
}

/** The verdict of a verification; `checkpoint` names the one it was checked against ("the checkpoint kept in FILE"). */
export function verifyLines(report: VerifyReport, style: Style, checkpoint = 'the checkpoint'): string[] {
  const lines = [`checked ${report.events} events in ${report.streams} streams`];
  if (report.brokenAt) {
    const { streamId, version, eventId } = report.brokenAt;
    lines.push(style.red(`a hash chain is broken at ${streamId} version ${version} (event ${eventId})`));
  }
  if (report.checkpoint && report.current) {
    const sizes = `the log (size ${report.current.size})`;
    const kept = `${checkpoint} (size ${report.checkpoint.size})`;
    const where = report.divergesAt
      ? `: leaf ${report.divergesAt.index} is ${report.divergesAt.reason}` +
        (report.divergesAt.eventId ? ` (event ${report.divergesAt.eventId})` : '')
      : '';
    lines.push(
      report.consistent
        ? style.green(`${sizes} extends ${kept}`)
        : style.red(`${sizes} does NOT extend ${kept}${where}`),
    );
  }
  if (!report.brokenAt) lines.push(style.green('every hash chain holds'));
  return lines;
}

function problemLine(problem: { id?: string; field?: string; problem: string; detail: string }): string {
  const subject = problem.id ?? problem.field;
  return `  - ${subject === undefined ? '' : `${subject}: `}${problem.problem} — ${problem.detail}`;
}

/** An error as one sentence with its code, then every listed problem (a refused plan names each ID). */
export function problemLines(problem: Problem): string[] {
  return [
    `error: ${problem.code} — ${problem.detail}`,
    ...(problem.errors ?? []).map(problemLine),
    ...(problem.operationId ? [`the refusal is recorded as operation ${problem.operationId}`] : []),
  ];
}
