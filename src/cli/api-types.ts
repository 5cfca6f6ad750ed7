/**
 * The parts of the service's answers the command line reads, as the API
 * documents them (/docs-json). Declared here rather than imported: the CLI is
 * a client of the HTTP contract, not of the server's code, and must keep
 * working against a service built from another commit.
 */

/** An `application/problem+json` answer (RFC 9457), as every error is sent. */
export interface Problem {
  status: number;
  code: string;
  detail: string;
  title?: string;
  errors?: { id?: string; field?: string; problem: string; detail: string }[];
  /** On a refused plan (422 `operation.rejected`): the operation that records the refusal. */
  operationId?: string;
}

export interface Site {
  siteId: string;
  customerId: string;
  name: string;
  region: string | null;
  internal: boolean;
  status: string;
  products: { installationId: string; productKey: string }[];
  contacts?: ({ name: string; email: string; role: string } | { redacted: true })[];
  deletionProtection: boolean;
  legalHold: { reason: string; reference: string; placedBy: string; placedAt: string } | null;
  retention: string;
  deletedAt: string | null;
  purgeAfter: string | null;
  purgedAt: string | null;
  version: number;
  updatedAt: string;
  asOf?: string;
}

export interface SitesPage {
  sites: Site[];
  nextCursor?: string;
  asOf?: string;
}

export interface Stats {
  asOf?: string;
  total: number;
  byStatus: Record<string, number>;
}

/** An event as history, audit and the SSE stream show it. */
export interface LedgerEvent {
  eventId: string;
  type: string;
  streamId: string;
  version: number;
  position: string;
  occurredAt: string;
  actor: string;
  data: Record<string, unknown>;
  metadata: { reason?: string; ticket?: string; operationId?: string; correlationId?: string } & Record<
    string,
    unknown
  >;
}

export interface EventsPage {
  events: LedgerEvent[];
  nextCursor?: string;
}

export interface SkippedSite {
  siteId: string;
  reason: string;
}

export interface Wave {
  index: number;
  kind: string;
  siteIds: string[];
  status: 'pending' | 'running' | 'completed' | 'cancelled';
  deleted: string[];
  skipped: SkippedSite[];
  startedAt: string | null;
  endedAt: string | null;
  continuedBy: string | null;
}

export interface Operation {
  operationId: string;
  action: string;
  status: string;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  createdAt: string;
  digest: string | null;
  summary: { sites: number; customers: number; internalSites: number };
  requiredApprovals: number;
  approvals: { approvedBy: string; approvedAt: string }[];
  waves: Wave[];
  progress: { deleted: number; skipped: number; restored: number; total: number };
  problems?: { id?: string; problem: string; detail: string }[];
  abort?: { abortedBy: string; reason: string; at: string };
  rollbacks: { rolledBackBy: string; reason: string; restored: string[]; skipped: SkippedSite[]; at: string }[];
  updatedAt: string;
  /** Global position of the operation's last event: watch from here to see what it does next. */
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

export interface VerifyReport {
  ok: boolean;
  streams: number;
  events: number;
  lastPosition?: string;
  brokenAt?: { streamId: string; version: number; eventId: string };
  checkpoint?: { size: number; root: string };
  current?: { size: number; root: string };
  consistent?: boolean;
  divergesAt?: { index: number; reason: string; eventId?: string; streamId?: string; version?: number };
}

export interface PurgePolicy {
  paused: boolean;
  reason: string | null;
  changedBy: string | null;
  changedAt: string | null;
}
