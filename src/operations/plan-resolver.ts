import { Injectable } from '@nestjs/common';
import type { ResolvedId } from './domain/operation.events.js';
import { InstallationsProjection } from '../sites/installations.projection.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import type { SiteState } from '../sites/domain/site.state.js';
import { SiteStreams } from '../sites/site-streams.js';

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
    const sites = await this.sites.loadMany(distinct);
    return new Map(distinct.map((id, index) => [id, this.resolveOne(id, sites[index]!.state)]));
  }

  private resolveOne(id: string, state: SiteState): ResolvedId {
    if (state.status !== 'unregistered') {
      const { siteId, customerId, name, internal, products, status, deletionProtection, legalHold } = state;
      return {
        kind: 'site',
        id,
        site: {
          siteId,
          customerId,
          name,
          internal,
          products,
          status,
          deletionProtection,
          legalHold: legalHold !== null,
        },
      };
    }
    const siteId = this.installations.siteOf(id);
    return siteId === undefined ? { kind: 'unknown', id } : { kind: 'installation', id, siteId };
  }
}
