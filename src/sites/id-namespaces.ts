import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { InstallationsProjection } from './installations.projection.js';
import { IdCollisionError, InstallationTakenError } from './domain/site.errors.js';
import type { SiteCommandInput } from './site-command.handler.js';

/**
 * Keeps site IDs and product installation IDs apart, and each installation
 * on one site. The outage of SPEC §1 began with installation IDs taken for
 * site IDs; with distinct namespaces a plan always knows which it was given.
 *
 * A rule across streams, checked against the installation read model (which
 * includes every answered change) and the site streams; two registrations
 * racing on the same new ID within milliseconds could still both pass.
 */
@Injectable()
export class IdNamespaces {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly installations: InstallationsProjection,
  ) {}

  /** Throws when the command would put an ID in both namespaces, or an installation on a second site. */
  async check(input: SiteCommandInput): Promise<void> {
    const { siteId } = input.data;
    let installationIds: string[];
    switch (input.type) {
      case 'RegisterSite': {
        const owner = this.installations.siteOf(siteId);
        if (owner !== undefined) throw new IdCollisionError(siteId, `a product installation on site ${owner}`);
        installationIds = (input.data.products ?? []).map((product) => product.installationId);
        break;
      }
      case 'AddSiteProduct':
        installationIds = [input.data.installationId];
        break;
      default:
        return;
    }
    for (const installationId of installationIds) {
      const owner = this.installations.siteOf(installationId);
      if (owner !== undefined && owner !== siteId) throw new InstallationTakenError(installationId, owner);
      if ((await this.store.streamVersion(siteStreamId(installationId))) > 0) {
        throw new IdCollisionError(installationId, 'a site ID');
      }
    }
  }
}
