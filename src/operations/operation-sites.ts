import { Inject, Injectable } from '@nestjs/common';
import type { StreamAppend } from '../event-store/event-store.port.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import type { RequestContext } from '../ledger/request-context.js';
import { SiteStreams, type LoadedSite } from '../sites/site-streams.js';
import type { SiteAtRun, SiteEvents } from './domain/operation.sites.js';

/** A site as read for a wave or a rollback, with what its append needs. */
export interface ReadSite extends SiteAtRun {
  loaded: LoadedSite;
}

/** The sites of a wave or a rollback: read them for the decision, then turn what it decided into appends. */
@Injectable()
export class OperationSites {
  constructor(
    private readonly sites: SiteStreams,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The sites as they are now, in the order asked (contacts withheld: nothing here decides on them). */
  async read(siteIds: readonly string[]): Promise<ReadSite[]> {
    const loaded = await this.sites.loadMany(siteIds);
    return loaded.map((site, index) => ({
      siteId: siteIds[index]!,
      state: site.state,
      now: nextEventTime(this.clock, site.lastOccurredAt),
      loaded: site,
    }));
  }

  /** The appends of what was decided, each at the version its site was read at. */
  async appends(
    read: readonly ReadSite[],
    decided: readonly SiteEvents[],
    context: RequestContext,
  ): Promise<StreamAppend[]> {
    const byId = new Map(read.map((site) => [site.siteId, site.loaded]));
    return Promise.all(
      decided.map(async ({ siteId, now, events }) => {
        const loaded = byId.get(siteId);
        if (loaded === undefined) throw new Error(`site ${siteId} was decided on without being read`);
        return (await this.sites.change(siteId, loaded, events, context, now)).append;
      }),
    );
  }
}
