import { OperationNotFoundError } from './domain/operation.errors.js';
import type { OperationState, PlannedOperation } from './domain/operation.state.js';
import type {
  OperationSummary,
  OperationTarget,
  PlanProblem,
  SkippedSite,
  WaveKind,
} from './domain/operation.events.js';

export type WaveStatus = 'pending' | 'running' | 'completed' | 'cancelled';

/** An operation as `GET /v1/operations/:id` shows it (SPEC §5). */
export interface OperationView {
  operationId: string;
  action: string;
  status: string;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  createdAt: string;
  digest: string | null;
  targets: OperationTarget[];
  summary: OperationSummary;
  requiredApprovals: number;
  approvals: { approvedBy: string; approvedAt: string }[];
  waves: {
    index: number;
    kind: WaveKind;
    siteIds: string[];
    status: WaveStatus;
    deleted: string[];
    skipped: SkippedSite[];
    /** When the execute or continue that set it going was recorded; null until then. */
    startedAt: string | null;
    /** Its OperationWaveCompleted's occurredAt; null while it runs or before it started. */
    endedAt: string | null;
    /** Who executed or continued the operation to start it; null until then. */
    continuedBy: string | null;
  }[];
  progress: { deleted: number; skipped: number; restored: number; total: number };
  problems?: PlanProblem[];
  abort?: { abortedBy: string; reason: string; at: string };
  rollbacks: { rolledBackBy: string; reason: string; restored: string[]; skipped: SkippedSite[]; at: string }[];
  version: number;
  updatedAt: string;
  /**
   * The global position of the last event in the operation's stream. Every
   * wave and rollback commits its site events together with (and before) an
   * event of that stream, so a watcher that subscribes after it with the
   * operationId filter receives exactly what the operation does next.
   */
  lastPosition: string;
}

/** The view of an operation as loaded from its stream; 404 if it does not exist. */
export function loadedView(
  operationId: string,
  loaded: { state: OperationState; lastPosition: string | undefined },
): OperationView {
  const { state, lastPosition } = loaded;
  if (state.status === 'none' || lastPosition === undefined) throw new OperationNotFoundError(operationId);
  return toOperationView(state, lastPosition);
}

/** `lastPosition`: see OperationView. */
export function toOperationView(
  state: Exclude<OperationState, { status: 'none' }>,
  lastPosition: string,
): OperationView {
  if (state.status === 'rejected') {
    const { rejection } = state;
    return {
      operationId: rejection.operationId,
      action: rejection.action,
      status: 'rejected',
      reason: rejection.reason,
      ticket: rejection.ticket,
      requestedBy: rejection.requestedBy,
      createdAt: state.createdAt,
      digest: null,
      targets: [],
      summary: { sites: 0, customers: 0, internalSites: 0 },
      requiredApprovals: 0,
      approvals: [],
      waves: [],
      progress: { deleted: 0, skipped: 0, restored: 0, total: 0 },
      problems: rejection.problems,
      rollbacks: [],
      version: state.version,
      updatedAt: state.updatedAt,
      lastPosition,
    };
  }
  const { plan } = state;
  const outcomes = new Map(state.waveOutcomes.map((outcome) => [outcome.index, outcome]));
  const starts = new Map(state.waveStarts.map((start) => [start.index, start]));
  const restored = new Set(state.rollbacks.flatMap((rollback) => rollback.restored));
  return {
    operationId: plan.operationId,
    action: plan.action,
    status: state.status,
    reason: plan.reason,
    ticket: plan.ticket,
    requestedBy: plan.requestedBy,
    createdAt: state.createdAt,
    digest: plan.digest,
    targets: plan.targets,
    summary: plan.summary,
    requiredApprovals: plan.requiredApprovals,
    approvals: state.approvals,
    waves: plan.waves.map((wave) => ({
      ...wave,
      status: waveStatus(state, wave.index),
      deleted: outcomes.get(wave.index)?.deleted ?? [],
      skipped: outcomes.get(wave.index)?.skipped ?? [],
      startedAt: starts.get(wave.index)?.startedAt ?? null,
      endedAt: outcomes.get(wave.index)?.completedAt ?? null,
      continuedBy: starts.get(wave.index)?.startedBy ?? null,
    })),
    progress: {
      deleted: state.waveOutcomes.reduce((sum, outcome) => sum + outcome.deleted.length, 0),
      skipped: state.waveOutcomes.reduce((sum, outcome) => sum + outcome.skipped.length, 0),
      restored: restored.size,
      total: plan.targets.length,
    },
    ...(state.abort ? { abort: state.abort } : {}),
    rollbacks: state.rollbacks,
    version: state.version,
    updatedAt: state.updatedAt,
    lastPosition,
  };
}

function waveStatus(state: PlannedOperation, index: number): WaveStatus {
  if (index < state.nextWave) return 'completed';
  if (state.status === 'aborted' || state.status === 'rolled-back') return 'cancelled';
  if (index === state.nextWave && state.status === 'running') return 'running';
  return 'pending';
}
