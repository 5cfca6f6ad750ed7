import { createHash } from 'node:crypto';
import { canonicalJson } from '../../common/canonical-json.js';
import type {
  OperationPlanned,
  OperationSummary,
  OperationTarget,
  PlanProblem,
  ResolvedId,
  WavePlan,
} from './operation.events.js';

/** Limits on blast radius (SPEC §8), passed in so the rules stay pure. */
export interface OperationPolicy {
  maxOperationSites: number;
  largeOperationSites: number;
  canarySites: number;
}

/**
 * Every problem with a requested plan (SPEC §4): the plan is rejected as a
 * whole if there is any. `resolved` tells what each requested ID is.
 */
export function findPlanProblems(
  action: string,
  requestedIds: readonly string[],
  resolved: ReadonlyMap<string, ResolvedId>,
  policy: OperationPolicy,
): PlanProblem[] {
  const problems: PlanProblem[] = [];
  if (action !== 'soft-delete') {
    problems.push({
      problem: 'unsupported-action',
      detail: `action ${JSON.stringify(action)} is not supported; the only action is soft-delete`,
    });
  }
  if (requestedIds.length === 0) problems.push({ problem: 'no-targets', detail: 'the plan names no site' });
  const distinct = new Set(requestedIds).size;
  if (distinct > policy.maxOperationSites) {
    problems.push({
      problem: 'too-many-targets',
      detail: `${distinct} sites exceed the limit of ${policy.maxOperationSites} per operation`,
    });
  }
  const seen = new Set<string>();
  for (const id of requestedIds) {
    if (seen.has(id)) {
      problems.push({ id, problem: 'duplicate-id', detail: `${id} is listed more than once` });
      continue;
    }
    seen.add(id);
    problems.push(...problemsOf(id, resolved.get(id) ?? { kind: 'unknown', id }));
  }
  return problems;
}

function problemsOf(id: string, resolution: ResolvedId): PlanProblem[] {
  switch (resolution.kind) {
    case 'unknown':
      return [
        { id, problem: 'unknown-id', detail: `${id} is neither a site nor a product installation in the ledger` },
      ];
    case 'installation':
      return [
        {
          id,
          problem: 'not-a-site',
          siteId: resolution.siteId,
          detail: `${id} is a product installation on site ${resolution.siteId}, not a site`,
        },
      ];
    case 'site': {
      const { site } = resolution;
      if (site.status === 'purged') return [{ id, problem: 'purged', detail: `site ${id} was purged` }];
      if (site.status === 'deleted')
        return [{ id, problem: 'already-deleted', detail: `site ${id} is already deleted` }];
      const problems: PlanProblem[] = [];
      if (site.deletionProtection) {
        problems.push({ id, problem: 'deletion-protected', detail: `site ${id} has deletion protection` });
      }
      if (site.legalHold) problems.push({ id, problem: 'legal-hold', detail: `site ${id} is under legal hold` });
      return problems;
    }
    default: {
      const unknown: never = resolution;
      throw new Error(`unhandled resolution ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Waves (SPEC §4): the provider's own sites first, then customer sites in
 * waves of `canarySites`, doubling each wave, so a mistake shows on a few
 * sites — ours first — before it can reach many.
 */
export function planWaves(targets: readonly OperationTarget[], canarySites: number): WavePlan[] {
  const waves: Omit<WavePlan, 'index'>[] = [];
  const internal = targets.filter((target) => target.internal).map((target) => target.siteId);
  const customer = targets.filter((target) => !target.internal).map((target) => target.siteId);
  if (internal.length > 0) waves.push({ kind: 'internal', siteIds: internal });
  for (let start = 0, size = canarySites; start < customer.length; start += size, size *= 2) {
    waves.push({ kind: start === 0 ? 'canary' : 'customer', siteIds: customer.slice(start, start + size) });
  }
  return waves.map((wave, index) => ({ index: index + 1, ...wave }));
}

export function summarize(targets: readonly OperationTarget[]): OperationSummary {
  return {
    sites: targets.length,
    customers: new Set(targets.map((target) => target.customerId)).size,
    internalSites: targets.filter((target) => target.internal).length,
  };
}

/**
 * `sha256:` + hex SHA-256 of the canonical JSON of the resolved plan. An
 * approver and an executor name it, so each acts on exactly the plan they
 * reviewed; it covers the operation's id, so it cannot be replayed on another.
 */
export function planDigest(plan: Omit<OperationPlanned['data'], 'digest'>): string {
  return `sha256:${createHash('sha256').update(canonicalJson(plan)).digest('hex')}`;
}
