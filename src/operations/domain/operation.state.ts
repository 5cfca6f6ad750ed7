import type { OperationPlanned, OperationRejected, SkippedSite } from './operation.events.js';

export type OperationStatus =
  'planned' | 'approved' | 'running' | 'paused' | 'completed' | 'rejected' | 'aborted' | 'rolled-back';

export interface Approval {
  approvedBy: string;
  approvedAt: string;
}

/** A wave set going: by OperationExecutionStarted (the first) or OperationContinued (each later one). */
export interface WaveStart {
  index: number;
  startedAt: string;
  startedBy: string;
}

export interface WaveOutcome {
  index: number;
  deleted: string[];
  skipped: SkippedSite[];
  completedAt: string;
}

export interface Rollback {
  rolledBackBy: string;
  reason: string;
  restored: string[];
  skipped: SkippedSite[];
  at: string;
}

/** What every planned operation has, whatever its status. */
export interface PlannedFacts {
  plan: OperationPlanned['data'];
  createdAt: string;
  approvals: Approval[];
  /** The wave that runs, or runs next (1-based); waves.length + 1 once all ran. */
  nextWave: number;
  waveStarts: WaveStart[];
  waveOutcomes: WaveOutcome[];
  rollbacks: Rollback[];
  version: number;
  updatedAt: string;
}

export type NoOperation = { status: 'none' };
export type RejectedOperation = {
  status: 'rejected';
  rejection: OperationRejected['data'];
  createdAt: string;
  version: number;
  updatedAt: string;
};
export type PlannedOperation = PlannedFacts & {
  status: Exclude<OperationStatus, 'rejected'>;
  /**
   * Who set the current wave going, and the event that did: a wave's site
   * deletions are recorded as that principal's, caused by that event, even
   * when the wave resumes after a restart.
   */
  activation?: { by: string; eventId: string };
  abort?: { abortedBy: string; reason: string; at: string };
};

export type OperationState = NoOperation | RejectedOperation | PlannedOperation;

export const initialOperationState: OperationState = { status: 'none' };
