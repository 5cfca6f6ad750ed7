import type { Recorded } from '../../common/recorded.js';
import type { OperationCommand, PlanOperation } from './operation.commands.js';
import {
  ApprovalsMissingError,
  DigestMismatchError,
  DuplicateApprovalError,
  OperationExistsError,
  OperationNotFoundError,
  OperationStatusError,
  SelfApprovalError,
  OperationWasRejectedError,
  WaveMismatchError,
} from './operation.errors.js';
import type { OperationEvent, OperationTarget } from './operation.events.js';
import { findPlanProblems, planDigest, planWaves, summarize, type OperationPolicy } from './operation.plan.js';
import type { OperationState, PlannedOperation } from './operation.state.js';

/**
 * Decides what a command does to a deletion operation. Nothing deletes a
 * site except a wave of an operation that was planned, reviewed and approved
 * by someone other than its requester, and executed against the digest the
 * approvers saw.
 */
export function decideOperation(
  command: OperationCommand,
  state: OperationState,
  policy: OperationPolicy,
): OperationEvent[] {
  const { operationId } = command.data;
  if (command.type === 'PlanOperation') {
    if (state.status !== 'none') throw new OperationExistsError(operationId);
    return [plan(command, policy)];
  }
  if (state.status === 'none') throw new OperationNotFoundError(operationId);
  const actor = command.metadata.actor.id;

  switch (command.type) {
    case 'ApproveOperation': {
      const operation = requireStatus(state, ['planned'], 'operation.not-awaiting-approval', 'approve it');
      if (operation.plan.requestedBy === actor) throw new SelfApprovalError(operationId, actor);
      if (operation.approvals.some((approval) => approval.approvedBy === actor)) {
        throw new DuplicateApprovalError(operationId, actor);
      }
      requireDigest(operation, command.data.digest);
      return [{ type: 'OperationApproved', data: { operationId, approvedBy: actor, digest: command.data.digest } }];
    }
    case 'ExecuteOperation': {
      if (state.status === 'planned') {
        throw new ApprovalsMissingError(operationId, state.approvals.length, state.plan.requiredApprovals);
      }
      const operation = requireStatus(state, ['approved'], 'operation.already-started', 'execute it');
      requireDigest(operation, command.data.digest);
      return [{ type: 'OperationExecutionStarted', data: { operationId, startedBy: actor } }];
    }
    case 'CompleteWave': {
      const operation = requireStatus(state, ['running'], 'operation.not-running', 'complete a wave');
      const { index, deleted, skipped } = command.data;
      if (index !== operation.nextWave) throw new WaveMismatchError(operationId, index, operation.nextWave);
      const completed: OperationEvent = {
        type: 'OperationWaveCompleted',
        data: { operationId, index, deleted, skipped },
      };
      return index === operation.plan.waves.length
        ? [completed, { type: 'OperationCompleted', data: { operationId } }]
        : [completed];
    }
    case 'ContinueOperation': {
      const operation = requireStatus(state, ['paused'], 'operation.not-paused', 'continue it');
      return [{ type: 'OperationContinued', data: { operationId, continuedBy: actor, index: operation.nextWave } }];
    }
    case 'AbortOperation':
      requireStatus(state, ['planned', 'approved', 'running', 'paused'], 'operation.not-abortable', 'abort it');
      return [{ type: 'OperationAborted', data: { operationId, abortedBy: actor, reason: command.data.reason } }];
    case 'RecordRollback': {
      const operation = requireRollbackable(state, operationId);
      const { reason, restored, skipped } = command.data;
      // The first rollback always records (it is the decision, even when every site was restored by hand);
      // a later one that restores nothing changes nothing, so there is nothing to record.
      if (operation.status === 'rolled-back' && restored.length === 0) return [];
      return [{ type: 'OperationRolledBack', data: { operationId, rolledBackBy: actor, reason, restored, skipped } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled operation command ${JSON.stringify(unhandled)}`);
    }
  }
}

export function evolveOperation(state: OperationState, event: Recorded<OperationEvent>): OperationState {
  const stamp = { version: event.version, updatedAt: event.occurredAt };
  if (event.type === 'OperationRejected') {
    return { status: 'rejected', rejection: event.data, createdAt: event.occurredAt, ...stamp };
  }
  if (event.type === 'OperationPlanned') {
    return {
      status: 'planned',
      plan: event.data,
      createdAt: event.occurredAt,
      approvals: [],
      nextWave: 1,
      waveStarts: [],
      waveOutcomes: [],
      rollbacks: [],
      ...stamp,
    };
  }
  // Only a plan or a rejection starts an operation stream.
  if (state.status === 'none' || state.status === 'rejected') return state;
  const operation: PlannedOperation = { ...state, ...stamp };

  switch (event.type) {
    case 'OperationApproved': {
      const approvals = [...operation.approvals, { approvedBy: event.data.approvedBy, approvedAt: event.occurredAt }];
      return {
        ...operation,
        approvals,
        status: approvals.length >= operation.plan.requiredApprovals ? 'approved' : 'planned',
      };
    }
    case 'OperationExecutionStarted': {
      const by = event.data.startedBy;
      return {
        ...operation,
        status: 'running',
        activation: { by, eventId: event.eventId },
        waveStarts: [
          ...operation.waveStarts,
          { index: operation.nextWave, startedAt: event.occurredAt, startedBy: by },
        ],
      };
    }
    case 'OperationContinued': {
      const { continuedBy: by, index } = event.data;
      return {
        ...operation,
        status: 'running',
        activation: { by, eventId: event.eventId },
        waveStarts: [...operation.waveStarts, { index, startedAt: event.occurredAt, startedBy: by }],
      };
    }
    case 'OperationWaveCompleted': {
      const { index, deleted, skipped } = event.data;
      return {
        ...operation,
        status: 'paused',
        nextWave: index + 1,
        waveOutcomes: [...operation.waveOutcomes, { index, deleted, skipped, completedAt: event.occurredAt }],
      };
    }
    case 'OperationCompleted':
      return { ...operation, status: 'completed' };
    case 'OperationAborted':
      return {
        ...operation,
        status: 'aborted',
        abort: { abortedBy: event.data.abortedBy, reason: event.data.reason, at: event.occurredAt },
      };
    case 'OperationRolledBack': {
      const { rolledBackBy, reason, restored, skipped } = event.data;
      return {
        ...operation,
        status: 'rolled-back',
        rollbacks: [...operation.rollbacks, { rolledBackBy, reason, restored, skipped, at: event.occurredAt }],
      };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled operation event ${JSON.stringify(unhandled)}`);
    }
  }
}

function plan(command: PlanOperation, policy: OperationPolicy): OperationEvent {
  const { operationId, action, siteIds, resolved, reason, ticket } = command.data;
  const requestedBy = command.metadata.actor.id;
  const problems = findPlanProblems(action, siteIds, resolved, policy);
  if (problems.length > 0) {
    return {
      type: 'OperationRejected',
      data: { operationId, action, siteIds, reason, ticket, requestedBy, problems },
    };
  }
  const targets: OperationTarget[] = siteIds.map((id) => {
    const resolution = resolved.get(id);
    // findPlanProblems guarantees every ID resolved to a live site.
    if (
      resolution?.kind !== 'site' ||
      (resolution.site.status !== 'active' && resolution.site.status !== 'suspended')
    ) {
      throw new Error(`unresolved target ${id}`);
    }
    const { siteId, customerId, name, internal, products, status } = resolution.site;
    return { siteId, customerId, name, internal, products, status };
  });
  const waves = planWaves(targets, policy.canarySites);
  const requiredApprovals = targets.length > policy.largeOperationSites ? 2 : 1;
  const body = {
    operationId,
    action: 'soft-delete' as const,
    reason,
    ticket,
    requestedBy,
    targets,
    summary: summarize(targets),
    waves,
    requiredApprovals,
  };
  return { type: 'OperationPlanned', data: { ...body, digest: planDigest(body) } };
}

/**
 * The operation, if it may be rolled back: it ran, at least in part.
 * Rolling back again is allowed (it restores what is still deleted).
 */
export function requireRollbackable(state: OperationState, operationId: string): PlannedOperation {
  if (state.status === 'none') throw new OperationNotFoundError(operationId);
  return requireStatus(
    state,
    ['running', 'paused', 'completed', 'aborted', 'rolled-back'],
    'operation.not-executed',
    'roll it back (it never ran)',
  );
}

function requireStatus(
  state: Exclude<OperationState, { status: 'none' }>,
  allowed: readonly PlannedOperation['status'][],
  code: string,
  action: string,
): PlannedOperation {
  if (state.status === 'rejected') {
    throw new OperationWasRejectedError(state.rejection.operationId, state.rejection.problems.length);
  }
  if (!allowed.includes(state.status))
    throw new OperationStatusError(state.plan.operationId, state.status, code, action);
  return state;
}

function requireDigest(operation: PlannedOperation, digest: string): void {
  if (digest !== operation.plan.digest) throw new DigestMismatchError(operation.plan.operationId, digest);
}
