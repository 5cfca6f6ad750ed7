import type { LiveStatus, SiteProduct, SiteStatus } from '../../sites/domain/site.events.js';

export type OperationAction = 'soft-delete';

/** Why a plan was rejected, for one requested ID or for the plan as a whole (SPEC §4). */
export type PlanProblemCode =
  | 'unknown-id'
  | 'not-a-site'
  | 'duplicate-id'
  | 'already-deleted'
  | 'purged'
  | 'deletion-protected'
  | 'legal-hold'
  | 'unsupported-action'
  | 'too-many-targets'
  | 'no-targets';

export interface PlanProblem {
  /** The requested ID the problem is about; absent for problems of the whole plan. */
  id?: string;
  problem: PlanProblemCode;
  detail: string;
  /** For `not-a-site`: the site the product installation belongs to. */
  siteId?: string;
}

/** A site as the plan resolved it; the digest covers exactly this. */
export interface OperationTarget {
  siteId: string;
  customerId: string;
  name: string;
  internal: boolean;
  products: SiteProduct[];
  status: LiveStatus;
}

export interface OperationSummary {
  sites: number;
  customers: number;
  internalSites: number;
}

export type WaveKind = 'internal' | 'canary' | 'customer';

export interface WavePlan {
  /** 1 for the first wave. */
  index: number;
  kind: WaveKind;
  siteIds: string[];
}

/** A site a wave or a rollback left alone, and why (a stable code such as `site.legal-hold`). */
export interface SkippedSite {
  siteId: string;
  reason: string;
}

export type OperationRejected = {
  type: 'OperationRejected';
  data: {
    operationId: string;
    action: string;
    siteIds: string[];
    reason: string;
    ticket: string | null;
    requestedBy: string;
    problems: PlanProblem[];
  };
};
export type OperationPlanned = {
  type: 'OperationPlanned';
  data: {
    operationId: string;
    action: OperationAction;
    reason: string;
    ticket: string | null;
    requestedBy: string;
    targets: OperationTarget[];
    summary: OperationSummary;
    waves: WavePlan[];
    requiredApprovals: number;
    digest: string;
  };
};
export type OperationApproved = {
  type: 'OperationApproved';
  data: { operationId: string; approvedBy: string; digest: string };
};
export type OperationExecutionStarted = {
  type: 'OperationExecutionStarted';
  data: { operationId: string; startedBy: string };
};
export type OperationWaveCompleted = {
  type: 'OperationWaveCompleted';
  data: { operationId: string; index: number; deleted: string[]; skipped: SkippedSite[] };
};
export type OperationContinued = {
  type: 'OperationContinued';
  data: { operationId: string; continuedBy: string; index: number };
};
export type OperationCompleted = { type: 'OperationCompleted'; data: { operationId: string } };
export type OperationAborted = {
  type: 'OperationAborted';
  data: { operationId: string; abortedBy: string; reason: string };
};
export type OperationRolledBack = {
  type: 'OperationRolledBack';
  data: { operationId: string; rolledBackBy: string; reason: string; restored: string[]; skipped: SkippedSite[] };
};

export type OperationEvent =
  | OperationRejected
  | OperationPlanned
  | OperationApproved
  | OperationExecutionStarted
  | OperationWaveCompleted
  | OperationContinued
  | OperationCompleted
  | OperationAborted
  | OperationRolledBack;

export type OperationEventType = OperationEvent['type'];

/** What a requested ID turned out to be when the plan was resolved against the ledger. */
export type ResolvedId =
  | {
      kind: 'site';
      id: string;
      site: {
        siteId: string;
        customerId: string;
        name: string;
        internal: boolean;
        products: SiteProduct[];
        status: SiteStatus;
        deletionProtection: boolean;
        legalHold: boolean;
      };
    }
  | { kind: 'installation'; id: string; siteId: string }
  | { kind: 'unknown'; id: string };
