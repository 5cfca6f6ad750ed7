import { DomainError } from '../../common/domain-error.js';
import { decideSite, type SitePolicy } from '../../sites/domain/site.decider.js';
import type { SiteEvent } from '../../sites/domain/site.events.js';
import type { SiteState } from '../../sites/domain/site.state.js';
import { decideOperation, requireRollbackable } from './operation.decider.js';
import type { OperationEvent, SkippedSite, WavePlan } from './operation.events.js';
import type { OperationPolicy } from './operation.plan.js';
import type { OperationState } from './operation.state.js';

/*
 * What an operation does to its sites: which sites a wave deletes and a
 * rollback restores, and why any other is skipped. Pure: the caller reads
 * the operation and its sites, these decide, the caller commits the site
 * events and the operation's together.
 */

/** The rules both deciders apply. */
export interface OperationSitePolicies {
  site: SitePolicy;
  operation: OperationPolicy;
}

/** A site as a wave or a rollback finds it. */
export interface SiteAtRun {
  siteId: string;
  state: SiteState;
  /** When an event on this site would be recorded: now, but never before its last event. */
  now: string;
}

/** What is recorded on one site. */
export interface SiteEvents {
  siteId: string;
  /** As SiteAtRun.now. */
  now: string;
  events: SiteEvent[];
}

export interface SitesDecision {
  /** The events to record on each site that changes; sites that do not change are left out. */
  sites: SiteEvents[];
  /** The operation's own events, which record the outcome. */
  operation: OperationEvent[];
}

/** The wave a running operation runs now, whose sites the caller reads; undefined unless it is running. */
export function currentWave(state: OperationState): WavePlan | undefined {
  return state.status === 'running' ? state.plan.waves[state.nextWave - 1] : undefined;
}

/**
 * The current wave: every site in it is re-checked now. A site this
 * operation already deleted (a wave cut short by a crash, or partly
 * committed) counts as deleted and is not deleted twice; one that became
 * protected, held or deleted since the plan is skipped with the rule's
 * code, never deleted. `sites` are the wave's sites in its order.
 */
export function decideWave(
  operation: OperationState,
  sites: readonly SiteAtRun[],
  now: string,
  policies: OperationSitePolicies,
): SitesDecision {
  const wave = currentWave(operation);
  if (operation.status !== 'running' || wave === undefined || operation.activation === undefined) {
    throw new Error(`operation is ${operation.status}, without a wave to run`);
  }
  const { operationId } = operation.plan;
  // The deletions are the work of whoever set this wave going, even when it resumes after a restart.
  const actor = { id: operation.activation.by, admin: false };
  const changes: SiteEvents[] = [];
  const deleted: string[] = [];
  const skipped: SkippedSite[] = [];
  for (const site of sites) {
    if (site.state.status === 'deleted' && site.state.deletion.operationId === operationId) {
      deleted.push(site.siteId);
      continue;
    }
    try {
      const events = decideSite(
        { type: 'SoftDeleteSite', data: { siteId: site.siteId, operationId }, metadata: { now: site.now, actor } },
        site.state,
        policies.site,
      );
      changes.push({ siteId: site.siteId, now: site.now, events });
      deleted.push(site.siteId);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      skipped.push({ siteId: site.siteId, reason: error.code });
    }
  }
  const events = decideOperation(
    { type: 'CompleteWave', data: { operationId, index: wave.index, deleted, skipped }, metadata: { now, actor } },
    operation,
    policies.operation,
  );
  return { sites: changes, operation: events };
}

/**
 * The sites a rollback looks at: every target of the plan. Throws, before
 * anything is read, when the operation cannot be rolled back.
 */
export function rollbackTargets(state: OperationState, operationId: string): string[] {
  return requireRollbackable(state, operationId).plan.targets.map((target) => target.siteId);
}

export interface RollbackCommand {
  operationId: string;
  reason: string;
  now: string;
  actor: { id: string };
}

/**
 * Restores every site this operation deleted that is still deleted by it,
 * each with a SiteRestored naming the deletion it compensates. A site it
 * deleted that is purged, restored meanwhile or deleted by another
 * operation is skipped with the reason; targets it never deleted are not
 * mentioned. Repeating a rollback restores nothing twice. `sites` are the
 * plan's targets (see rollbackTargets).
 */
export function decideRollback(
  operation: OperationState,
  sites: readonly SiteAtRun[],
  command: RollbackCommand,
  policies: OperationSitePolicies,
): SitesDecision & { restored: string[]; skipped: SkippedSite[] } {
  const { operationId } = command;
  const everDeleted = new Set(
    requireRollbackable(operation, operationId).waveOutcomes.flatMap((outcome) => outcome.deleted),
  );
  const changes: SiteEvents[] = [];
  const restored: string[] = [];
  const skipped: SkippedSite[] = [];
  for (const site of sites) {
    const { state } = site;
    if (state.status === 'deleted' && state.deletion.operationId === operationId) {
      const events = decideSite(
        {
          type: 'RestoreSite',
          data: { siteId: site.siteId },
          metadata: { now: site.now, actor: { ...command.actor, admin: false } },
        },
        state,
        policies.site,
      );
      changes.push({ siteId: site.siteId, now: site.now, events });
      restored.push(site.siteId);
    } else if (everDeleted.has(site.siteId)) {
      skipped.push({ siteId: site.siteId, reason: notRestoredBecause(state) });
    }
  }
  const events = decideOperation(
    {
      type: 'RecordRollback',
      data: { operationId, reason: command.reason, restored, skipped },
      metadata: { now: command.now, actor: command.actor },
    },
    operation,
    policies.operation,
  );
  return { sites: changes, operation: events, restored, skipped };
}

/** Why a site this operation deleted is not restored now. */
function notRestoredBecause(state: SiteState): string {
  switch (state.status) {
    case 'purged':
      return 'site.purged';
    case 'deleted':
      return 'site.deleted-by-another-operation';
    default:
      return 'site.not-deleted';
  }
}
