/* The API's answers, as far as the console reads them (the OpenAPI document at /docs-json has them all). */

export type SiteStatus = 'active' | 'suspended' | 'deleted' | 'purged';

export const SITE_STATUSES: readonly SiteStatus[] = ['active', 'suspended', 'deleted', 'purged'];

export interface Product {
  installationId: string;
  productKey: string;
}

export type Contact = { name: string; email: string; role: string } | { redacted: true };

export interface LegalHold {
  reason: string;
  reference: string;
  placedBy: string;
  placedAt: string;
}

export interface Site {
  siteId: string;
  customerId: string;
  name: string;
  region: string | null;
  internal: boolean;
  status: SiteStatus;
  products: Product[];
  /** Absent in lists: contacts are shown only by the single-site read. */
  contacts?: Contact[];
  deletionProtection: boolean;
  legalHold: LegalHold | null;
  retention: string;
  deletedAt: string | null;
  purgeAfter: string | null;
  purgedAt: string | null;
  version: number;
  updatedAt: string;
  asOf?: string;
}

/** An event as history, audit and the stream show it. */
export interface LedgerEvent {
  eventId: string;
  type: string;
  streamId: string;
  version: number;
  position: string;
  occurredAt: string;
  actor: string;
  data: Record<string, unknown>;
  metadata: {
    actor?: string;
    occurredAt?: string;
    correlationId?: string;
    causationId?: string | null;
    operationId?: string;
    reason?: string;
    ticket?: string;
    compensates?: string;
    [other: string]: unknown;
  };
  prevHash: string;
  hash: string;
}

export interface EventPage {
  events: LedgerEvent[];
  nextCursor?: string;
}

export interface SitesPage {
  sites: Site[];
  nextCursor?: string;
  asOf?: string;
}

export interface Stats {
  asOf?: string;
  total: number;
  byStatus: Record<SiteStatus, number>;
}

export type OperationStatus =
  'planned' | 'approved' | 'running' | 'paused' | 'completed' | 'rejected' | 'aborted' | 'rolled-back';

export const OPERATION_STATUSES: readonly OperationStatus[] = [
  'planned',
  'approved',
  'running',
  'paused',
  'completed',
  'rejected',
  'aborted',
  'rolled-back',
];

export interface SkippedSite {
  siteId: string;
  reason: string;
}

export interface Wave {
  index: number;
  kind: 'internal' | 'canary' | 'customer';
  siteIds: string[];
  status: 'pending' | 'running' | 'completed' | 'cancelled';
  deleted: string[];
  skipped: SkippedSite[];
  startedAt: string | null;
  endedAt: string | null;
  continuedBy: string | null;
}

export interface OperationTarget {
  siteId: string;
  customerId: string;
  name: string;
  internal: boolean;
  products: Product[];
  status: SiteStatus;
}

export interface PlanProblem {
  id?: string;
  problem: string;
  detail: string;
  siteId?: string;
}

export interface Operation {
  operationId: string;
  action: string;
  status: OperationStatus;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  createdAt: string;
  digest: string | null;
  targets: OperationTarget[];
  summary: { sites: number; customers: number; internalSites: number };
  requiredApprovals: number;
  approvals: { approvedBy: string; approvedAt: string }[];
  waves: Wave[];
  progress: { deleted: number; skipped: number; restored: number; total: number };
  problems?: PlanProblem[];
  rollbacks: { rolledBackBy: string; reason: string; restored: string[]; skipped: SkippedSite[]; at: string }[];
  version: number;
  updatedAt: string;
  lastPosition: string;
}

export interface OperationsPage {
  operations: Operation[];
  nextCursor?: string;
}

export interface RollbackResult {
  operationId: string;
  dryRun: boolean;
  restored: string[];
  skipped: SkippedSite[];
  operation: Operation;
}

export interface RevertResult {
  dryRun: boolean;
  events: { type: string; data: Record<string, unknown> }[];
  site: Site;
}

/** An RFC 9457 problem document, as every error answers. */
export interface ProblemDocument {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  instance?: string;
  errors?: { id?: string; field?: string; problem: string; detail: string }[];
  operationId?: string;
}
