import type { ResolvedId, SkippedSite } from './operation.events.js';

/** Who asks, and when. */
export interface OperationCommandMetadata {
  /** ISO 8601 UTC. */
  now: string;
  actor: { id: string };
}

type Command<Type extends string, Data = Record<never, never>> = {
  type: Type;
  data: { operationId: string } & Data;
  metadata: OperationCommandMetadata;
};

export type PlanOperation = Command<
  'PlanOperation',
  {
    action: string;
    /** As requested, duplicates included. */
    siteIds: string[];
    /** What each distinct requested ID is in the ledger. */
    resolved: ReadonlyMap<string, ResolvedId>;
    reason: string;
    ticket: string | null;
  }
>;
export type ApproveOperation = Command<'ApproveOperation', { digest: string }>;
export type ExecuteOperation = Command<'ExecuteOperation', { digest: string }>;
/** Sent by the executor once a wave's site deletions are decided. */
export type CompleteWave = Command<'CompleteWave', { index: number; deleted: string[]; skipped: SkippedSite[] }>;
export type ContinueOperation = Command<'ContinueOperation'>;
export type AbortOperation = Command<'AbortOperation', { reason: string }>;
/** Sent once the sites to restore are decided. */
export type RecordRollback = Command<'RecordRollback', { reason: string; restored: string[]; skipped: SkippedSite[] }>;

export type OperationCommand =
  | PlanOperation
  | ApproveOperation
  | ExecuteOperation
  | CompleteWave
  | ContinueOperation
  | AbortOperation
  | RecordRollback;
