import { describe, expect, it } from 'vitest';
import type { LedgerEvent, Operation } from './api-types.js';
import { PLAIN } from './render.js';
import {
  applyEvent,
  boardLines,
  changeLines,
  continueCommand,
  exitCodeOf,
  isFinished,
  progressOf,
  type WatchProgress,
} from './watch.js';

const OP = 'op_watch-1';

/** An approved operation of three waves: one internal site, a canary of two, then three customer sites. */
function approved(): Operation {
  const wave = (index: number, kind: string, siteIds: string[]) => ({
    index,
    kind,
    siteIds,
    status: 'pending' as const,
    deleted: [],
    skipped: [],
    startedAt: null,
    endedAt: null,
    continuedBy: null,
  });
  return {
    operationId: OP,
    action: 'soft-delete',
    status: 'approved',
    reason: 'churned',
    ticket: 'OPS-1',
    requestedBy: 'operator',
    createdAt: '2026-11-30T10:00:00.000Z',
    digest: 'sha256:00',
    summary: { sites: 6, customers: 6, internalSites: 1 },
    requiredApprovals: 1,
    approvals: [{ approvedBy: 'approver', approvedAt: '2026-11-30T10:00:01.000Z' }],
    waves: [
      wave(1, 'internal', ['i-1']),
      wave(2, 'canary', ['c-1', 'c-2']),
      wave(3, 'customer', ['c-3', 'c-4', 'c-5']),
    ],
    progress: { deleted: 0, skipped: 0, restored: 0, total: 6 },
    rollbacks: [],
    updatedAt: '2026-11-30T10:00:01.000Z',
    lastPosition: '10',
  };
}

let position = 10;
function event(type: string, data: Record<string, unknown>, second: number): LedgerEvent {
  position += 1;
  return {
    eventId: `e-${position}`,
    type,
    streamId: type.startsWith('Site') ? `site-${String(data['siteId'])}` : `operation-${OP}`,
    version: 1,
    position: String(position),
    occurredAt: `2026-11-30T10:00:${String(second).padStart(2, '0')}.000Z`,
    actor: 'operator',
    data: { operationId: OP, ...data },
    metadata: {},
  };
}

const wave = (index: number, deleted: string[], second: number, skipped: { siteId: string; reason: string }[] = []) => [
  ...deleted.map((siteId) => event('SiteSoftDeleted', { siteId }, second)),
  event('OperationWaveCompleted', { index, deleted, skipped }, second),
];

const fold = (start: WatchProgress, events: LedgerEvent[]) => events.reduce(applyEvent, start);
const NOW = Date.parse('2026-11-30T10:01:00.000Z');

describe('the progress of ops watch, folded from the operation and its events', () => {
  it('starts from the operation as the API shows it', () => {
    const progress = progressOf(approved());
    expect(progress).toMatchObject({ status: 'approved', position: '10', approvals: 1 });
    expect(progress.waves.map((w) => [w.index, w.status, w.siteIds.length, w.deleted])).toEqual([
      [1, 'pending', 1, 0],
      [2, 'pending', 2, 0],
      [3, 'pending', 3, 0],
    ]);
    expect(isFinished(progress)).toBe(false);
    expect(exitCodeOf(progress)).toBeUndefined();
  });

  it('follows execute, each wave, each pause and continue, to completion (exit 0)', () => {
    const start = progressOf(approved());
    const running = applyEvent(start, event('OperationExecutionStarted', { startedBy: 'operator' }, 2));
    expect(running.status).toBe('running');
    expect(running.waves[0]).toMatchObject({ status: 'running', startedAt: '2026-11-30T10:00:02.000Z' });

    const paused = fold(running, wave(1, ['i-1'], 3));
    expect(paused.status).toBe('paused');
    expect(paused.waves[0]).toMatchObject({ status: 'completed', deleted: 1, endedAt: '2026-11-30T10:00:03.000Z' });

    const canary = fold(paused, [
      event('OperationContinued', { continuedBy: 'operator', index: 2 }, 5),
      ...wave(2, ['c-1'], 6, [{ siteId: 'c-2', reason: 'site.legal-hold' }]),
    ]);
    expect(canary.status).toBe('paused');
    expect(canary.waves[1]).toMatchObject({ status: 'completed', deleted: 1, skipped: [{ siteId: 'c-2' }] });

    const done = fold(canary, [
      event('OperationContinued', { continuedBy: 'operator', index: 3 }, 8),
      ...wave(3, ['c-3', 'c-4', 'c-5'], 9),
      event('OperationCompleted', {}, 9),
    ]);
    expect(done.status).toBe('completed');
    expect(done.waves.map((w) => w.status)).toEqual(['completed', 'completed', 'completed']);
    expect(isFinished(done)).toBe(true);
    expect(exitCodeOf(done)).toBe(0);
    expect(done.position).toBe(String(position));
  });

  it('stays running between the last wave and OperationCompleted (they commit together)', () => {
    const last = fold(progressOf(approved()), [
      event('OperationExecutionStarted', { startedBy: 'operator' }, 2),
      ...wave(1, ['i-1'], 3),
      event('OperationContinued', { continuedBy: 'operator', index: 2 }, 4),
      ...wave(2, ['c-1', 'c-2'], 5),
      event('OperationContinued', { continuedBy: 'operator', index: 3 }, 6),
      ...wave(3, ['c-3', 'c-4', 'c-5'], 7),
    ]);
    expect(last.status).toBe('running');
    expect(isFinished(last)).toBe(false);
  });

  it('counts deletions as they arrive, before the wave ends', () => {
    const running = fold(progressOf(approved()), [
      event('OperationExecutionStarted', { startedBy: 'operator' }, 2),
      ...wave(1, ['i-1'], 3),
      event('OperationContinued', { continuedBy: 'operator', index: 2 }, 4),
      event('SiteSoftDeleted', { siteId: 'c-2' }, 5),
    ]);
    expect(running.waves[1]).toMatchObject({ status: 'running', deleted: 1 });
  });

  it('an abort cancels the waves not run (exit 2); a rollback records what it restored (exit 2)', () => {
    const aborted = fold(progressOf(approved()), [
      event('OperationExecutionStarted', { startedBy: 'operator' }, 2),
      ...wave(1, ['i-1'], 3),
      event('OperationAborted', { abortedBy: 'operator', reason: 'wrong list' }, 4),
    ]);
    expect(aborted.status).toBe('aborted');
    expect(aborted.abort).toEqual({ by: 'operator', reason: 'wrong list' });
    expect(aborted.waves.map((w) => w.status)).toEqual(['completed', 'cancelled', 'cancelled']);
    expect(exitCodeOf(aborted)).toBe(2);

    const rolledBack = fold(aborted, [
      event('SiteRestored', { siteId: 'i-1' }, 5),
      event('OperationRolledBack', { rolledBackBy: 'operator', reason: 'INC-7', restored: ['i-1'], skipped: [] }, 5),
    ]);
    expect(rolledBack).toMatchObject({ status: 'rolled-back', restored: ['i-1'] });
    expect(exitCodeOf(rolledBack)).toBe(2);
  });

  it('a second approval of a plan that needs two makes it approved', () => {
    const planned = { ...approved(), status: 'planned', requiredApprovals: 2 };
    const once = progressOf(planned);
    expect(once.approvals).toBe(1);
    expect(applyEvent(once, event('OperationApproved', { approvedBy: 'approver2' }, 3)).status).toBe('approved');
  });

  it('an event that does not concern the waves only moves the position', () => {
    const start = progressOf(approved());
    const after = applyEvent(start, event('SiteContactsUpdated', { siteId: 'i-1' }, 2));
    expect(after).toEqual({ ...start, position: String(position) });
  });
});

describe('what ops watch prints', () => {
  it('the board: a line per wave with done/total, elapsed time and skipped sites, then what to do', () => {
    const paused = fold(progressOf(approved()), [
      event('OperationExecutionStarted', { startedBy: 'operator' }, 2),
      ...wave(1, [], 4, [{ siteId: 'i-1', reason: 'site.deletion-protected' }]),
    ]);
    expect(boardLines(paused, NOW, PLAIN)).toEqual([
      `${OP}  paused`,
      'wave 1/3 internal  [##########] 1/1 done: 0 deleted, 1 skipped  2.0s  completed',
      '  skipped i-1: site.deletion-protected',
      'wave 2/3 canary    [..........] 0/2 done: 0 deleted, 0 skipped  pending',
      'wave 3/3 customer  [..........] 0/3 done: 0 deleted, 0 skipped  pending',
      'paused after wave 1 of 3; continue with:',
      `  ${continueCommand(OP)}`,
    ]);
  });

  it('a running wave shows how long it has run so far', () => {
    const running = applyEvent(progressOf(approved()), event('OperationExecutionStarted', { startedBy: 'x' }, 30));
    expect(boardLines(running, NOW, PLAIN)[1]).toBe(
      'wave 1/3 internal  [..........] 0/1 done: 0 deleted, 0 skipped  30.0s  running',
    );
  });

  it('in a plain log: the wave that ended, then the exact command that continues, at every pause', () => {
    const running = applyEvent(progressOf(approved()), event('OperationExecutionStarted', { startedBy: 'x' }, 2));
    const steps = wave(1, ['i-1'], 3);
    const before = fold(running, steps.slice(0, -1));
    const after = applyEvent(before, steps.at(-1)!);
    expect(changeLines(before, after, NOW, PLAIN)).toEqual([
      'wave 1/3 internal  [##########] 1/1 done: 1 deleted, 0 skipped  1.0s  completed',
      'paused after wave 1 of 3; continue with:',
      `  tenant-ledger ops continue ${OP}`,
    ]);
    // The deletion itself changes no status: nothing is printed for it.
    expect(changeLines(running, before, NOW, PLAIN)).toEqual([]);
  });

  it('a final summary when it completes, and how to roll back when aborted', () => {
    const done = fold(progressOf(approved()), [
      event('OperationExecutionStarted', { startedBy: 'operator' }, 2),
      ...wave(1, ['i-1'], 3),
      event('OperationContinued', { continuedBy: 'operator', index: 2 }, 4),
      ...wave(2, ['c-1', 'c-2'], 5),
      event('OperationContinued', { continuedBy: 'operator', index: 3 }, 6),
      ...wave(3, ['c-3', 'c-4'], 12, [{ siteId: 'c-5', reason: 'site.legal-hold' }]),
    ]);
    const completed = applyEvent(done, event('OperationCompleted', {}, 12));
    expect(changeLines(done, completed, NOW, PLAIN)).toEqual([
      'completed: 5 of 6 sites deleted, 1 skipped, 3 of 3 waves run in 10.0s',
    ]);

    const paused = fold(progressOf(approved()), [
      event('OperationExecutionStarted', { startedBy: 'operator' }, 2),
      ...wave(1, ['i-1'], 3),
    ]);
    const aborted = applyEvent(paused, event('OperationAborted', { abortedBy: 'operator', reason: 'wrong list' }, 4));
    expect(changeLines(paused, aborted, NOW, PLAIN)).toEqual([
      'aborted by operator: wrong list; 1 of 6 sites deleted, 0 skipped, 1 of 3 waves run',
      `  roll back with: tenant-ledger ops rollback ${OP} --reason "<why>"`,
    ]);
  });
});
