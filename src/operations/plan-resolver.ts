import { Injectable } from '@nestjs/common';
import type { ResolvedId } from './domain/operation.events.js';
import { InstallationsProjection } from '../projections/installations.projection.js';
import { ProjectionRunner } from '../projections/projection-runner.js';
import { SiteStreams } from '../sites/site-streams.js';

/** How many sites are read at once while resolving a plan. */
const PARALLEL_READS = 32;

/**
 * Resolves every requested ID against the ledger: a site (its current
 * state, read from its own stream, the source of truth), a product
 * installation (which site it is on), or nothing at all.
 */
@Injectable()
export class PlanResolver {
  constructor(
    private readonly sites: SiteStreams,
    private readonly installations: InstallationsProjection,
    private readonly readModels: ProjectionRunner,
  ) {}

  async resolve(ids: readonly string[]): Promise<Map<string, ResolvedId>> {
    const distinct = [...new Set(ids)];
    // The installation index must include every change already answered.
    await this.readModels.catchUp();
    const resolved = new Map<string, ResolvedId>();
    for (let start = 0; start < distinct.length; start += PARALLEL_READS) {
      const batch = distinct.slice(start, start + PARALLEL_READS);
      const results = await Promise.all(batch.map((id) => this.resolveOne(id)));
      for (const result of results) resolved.set(result.id, result);
    }
    return resolved;
  }

  private async resolveOne(id: string): Promise<ResolvedId> {
    const { state } = await this.sites.load(id);
    if (state.status !== 'unregistered') {
      const { siteId, customerId, name, internal, products, status, deletionProtection, legalHold } = state;
      return {
        kind: 'site',
        id,
        site: { siteId, customerId, name, internal, products, status, deletionProtection, legalHold: legalHold !== null },
      };
    }
    const siteId = this.installations.siteOf(id);
    return siteId === undefined ? { kind: 'unknown', id } : { kind: 'installation', id, siteId };
  }
}
