import type { LedgerEvent, Operation, SkippedSite, Wave } from './api-types.js';
import { duration, statusText, type Style } from './render.js';

/**
 * What `ops watch` shows, as a pure fold: the operation as
 * `GET /v1/operations/:id` answered once, then every event the SSE stream
 * delivers after its `lastPosition` (the operation's own events, the
 * deletions its waves make, the restores that undo them). The same rules as
 * the service's operation view, so the two never tell different stories.
 */
export interface WatchedWave {
  index: number;
  kind: string;
  siteIds: readonly string[];
  status: Wave['status'];
  deleted: number;
  skipped: readonly SkippedSite[];
  startedAt: string | null;
  endedAt: string | null;
}

export interface WatchProgress {
  operationId: string;
  status: string;
  requiredApprovals: number;
  approvals: number;
  waves: readonly WatchedWave[];
  /** Sites restored by rollbacks (each once). */
  restored: readonly string[];
  abort?: { by: string; reason: string };
  rollback?: { by: string; reason: string; skipped: readonly SkippedSite[] };
  /** The last event folded in: where the stream resumes after a broken connection. */
  position: string;
}

/** The states after which nothing more happens to watch, and the exit code each ends `ops watch` with. */
const FINISHED: Readonly<Record<string, number>> = { completed: 0, aborted: 2, 'rolled-back': 2, rejected: 1 };

export const isFinished = (progress: WatchProgress): boolean => progress.status in FINISHED;

/** 0 completed, 2 aborted or rolled back, 1 rejected (it never ran); undefined while it can still change. */
export const exitCodeOf = (progress: WatchProgress): number | undefined => FINISHED[progress.status];

export function progressOf(op: Operation): WatchProgress {
  const lastRollback = op.rollbacks.at(-1);
  return {
    operationId: op.operationId,
    status: op.status,
    requiredApprovals: op.requiredApprovals,
    approvals: op.approvals.length,
    waves: op.waves.map((wave) => ({
      index: wave.index,
      kind: wave.kind,
      siteIds: wave.siteIds,
      status: wave.status,
      deleted: wave.deleted.length,
      skipped: wave.skipped,
      startedAt: wave.startedAt,
      endedAt: wave.endedAt,
    })),
    restored: [...new Set(op.rollbacks.flatMap((rollback) => rollback.restored))],
    ...(op.abort ? { abort: { by: op.abort.abortedBy, reason: op.abort.reason } } : {}),
    ...(lastRollback
      ? { rollback: { by: lastRollback.rolledBackBy, reason: lastRollback.reason, skipped: lastRollback.skipped } }
      : {}),
    position: op.lastPosition,
  };
}

/** The progress after one more event; an event that does not concern the waves only moves `position`. */
export function applyEvent(progress: WatchProgress, event: LedgerEvent): WatchProgress {
  const next = { ...progress, position: event.position };
  const data = event.data;
  const setWave = (index: number, change: (wave: WatchedWave) => Partial<WatchedWave>) =>
    next.waves.map((wave) => (wave.index === index ? { ...wave, ...change(wave) } : wave));
  const cancelUnfinished = () =>
    next.waves.map((wave) => (wave.status === 'completed' ? wave : { ...wave, status: 'cancelled' as const }));

  switch (event.type) {
    case 'OperationApproved': {
      const approvals = progress.approvals + 1;
      return { ...next, approvals, status: approvals >= progress.requiredApprovals ? 'approved' : 'planned' };
    }
    case 'OperationExecutionStarted':
    case 'OperationContinued': {
      // Execute starts the first wave not yet run; continue names it.
      const index = typeof data['index'] === 'number' ? data['index'] : firstUnfinished(progress);
      return {
        ...next,
        status: 'running',
        waves: setWave(index, () => ({ status: 'running', startedAt: event.occurredAt })),
      };
    }
    case 'SiteSoftDeleted': {
      const siteId = String(data['siteId']);
      const wave = progress.waves.find((candidate) => candidate.siteIds.includes(siteId));
      return wave ? { ...next, waves: setWave(wave.index, (w) => ({ deleted: w.deleted + 1 })) } : next;
    }
    case 'OperationWaveCompleted': {
      const index = Number(data['index']);
      const deleted = (data['deleted'] as string[] | undefined) ?? [];
      const skipped = (data['skipped'] as SkippedSite[] | undefined) ?? [];
      return {
        ...next,
        // After the last wave OperationCompleted follows in the same commit.
        status: index < progress.waves.length ? 'paused' : progress.status,
        waves: setWave(index, () => ({
          status: 'completed',
          deleted: deleted.length,
          skipped,
          endedAt: event.occurredAt,
        })),
      };
    }
    case 'OperationCompleted':
      return { ...next, status: 'completed' };
    case 'OperationAborted':
      return {
        ...next,
        status: 'aborted',
        abort: { by: String(data['abortedBy']), reason: String(data['reason']) },
        waves: cancelUnfinished(),
      };
    case 'OperationRolledBack': {
      const restored = (data['restored'] as string[] | undefined) ?? [];
      return {
        ...next,
        status: 'rolled-back',
        restored: [...new Set([...progress.restored, ...restored])],
        rollback: {
          by: String(data['rolledBackBy']),
          reason: String(data['reason']),
          skipped: (data['skipped'] as SkippedSite[] | undefined) ?? [],
        },
        waves: cancelUnfinished(),
      };
    }
    default:
      return next;
  }
}

function firstUnfinished(progress: WatchProgress): number {
  return progress.waves.find((wave) => wave.status !== 'completed')?.index ?? progress.waves.length;
}

/** The command that runs the next wave: printed at every pause, so whoever watches can copy it. */
export const continueCommand = (operationId: string): string => `tenant-ledger ops continue ${operationId}`;

/** One wave: its counts (done/total), how long it took (or has run, at `now`) and its skipped sites. */
export function waveLines(wave: WatchedWave, waves: number, now: number, style: Style): string[] {
  const total = wave.siteIds.length;
  const done = wave.deleted + wave.skipped.length;
  const elapsed =
    wave.startedAt === null
      ? ''
      : `  ${duration((wave.endedAt === null ? now : Date.parse(wave.endedAt)) - Date.parse(wave.startedAt))}`;
  const counts = `${done}/${total} done: ${wave.deleted} deleted, ${wave.skipped.length} skipped`;
  return [
    `wave ${wave.index}/${waves} ${wave.kind.padEnd(8)}  ${bar(done, total)} ${counts}${elapsed}  ${statusText(wave.status, style)}`,
    ...wave.skipped.map((skipped) => `  skipped ${skipped.siteId}: ${skipped.reason}`),
  ];
}

/** The whole picture: a header, a line per wave, and what to do now (or how it ended). */
export function boardLines(progress: WatchProgress, now: number, style: Style): string[] {
  return [
    `${style.bold(progress.operationId)}  ${statusText(progress.status, style)}`,
    ...progress.waves.flatMap((wave) => waveLines(wave, progress.waves.length, now, style)),
    ...stateLines(progress, style),
  ];
}

/**
 * What a plain log gets when `before` became `after`: a line for each wave
 * that started or ended, then the pause, approval or end that followed.
 * Deletions inside a wave commit together with its end, so counting them
 * one by one would only repeat that line.
 */
export function changeLines(before: WatchProgress, after: WatchProgress, now: number, style: Style): string[] {
  const lines = after.waves
    .filter((wave, i) => wave.status !== before.waves[i]?.status && wave.status !== 'cancelled')
    .flatMap((wave) => waveLines(wave, after.waves.length, now, style));
  if (after.approvals !== before.approvals) lines.push(`approvals: ${after.approvals} of ${after.requiredApprovals}`);
  if (after.status !== before.status) lines.push(...stateLines(after, style));
  return lines;
}

/** What the operation's status asks of a person, or how it ended. */
function stateLines(progress: WatchProgress, style: Style): string[] {
  const waves = progress.waves;
  const done = waves.filter((wave) => wave.status === 'completed');
  const deleted = waves.reduce((sum, wave) => sum + wave.deleted, 0);
  const skipped = waves.reduce((sum, wave) => sum + wave.skipped.length, 0);
  const total = waves.reduce((sum, wave) => sum + wave.siteIds.length, 0);
  const tally = `${deleted} of ${total} sites deleted, ${skipped} skipped, ${done.length} of ${waves.length} waves run`;
  switch (progress.status) {
    case 'planned':
      return [`waiting for approvals (${progress.approvals} of ${progress.requiredApprovals})`];
    case 'approved':
      return ['approved; waiting for execute'];
    case 'paused':
      return [
        style.yellow(`paused after wave ${done.at(-1)?.index ?? 0} of ${waves.length}; continue with:`),
        `  ${continueCommand(progress.operationId)}`,
      ];
    case 'completed':
      return [style.green(`completed: ${tally}${took(waves)}`)];
    case 'aborted':
      return [
        style.red(`aborted by ${progress.abort?.by}: ${progress.abort?.reason}; ${tally}`),
        ...(deleted > 0
          ? [`  roll back with: tenant-ledger ops rollback ${progress.operationId} --reason "<why>"`]
          : []),
      ];
    case 'rolled-back':
      return [
        style.red(
          `rolled back by ${progress.rollback?.by}: ${progress.rollback?.reason}; ` +
            `${progress.restored.length} restored, ${progress.rollback?.skipped.length ?? 0} skipped`,
        ),
        ...(progress.rollback?.skipped ?? []).map((site) => `  not restored ${site.siteId}: ${site.reason}`),
      ];
    case 'rejected':
      return [style.red('rejected when planned: it never runs')];
    default:
      return [];
  }
}

/** From the first wave's start to the last wave's end, as the ledger recorded them. */
function took(waves: readonly WatchedWave[]): string {
  const start = waves[0]?.startedAt;
  const end = waves.at(-1)?.endedAt;
  return start && end ? ` in ${duration(Date.parse(end) - Date.parse(start))}` : '';
}

function bar(done: number, total: number, width = 10): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
