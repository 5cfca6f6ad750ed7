import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { hasRole } from '../auth/principal.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import type { SitePolicy } from './domain/site.decider.js';
import type { SiteEvent } from './domain/site.events.js';
import { SiteNotFoundError } from './domain/site.errors.js';
import { decideRevert } from './domain/site.revert.js';
import { IdNamespaces } from './id-namespaces.js';
import type { RegisteredSite } from './domain/site.state.js';
import { SiteStreams } from './site-streams.js';
import { SITE_POLICY } from './sites.tokens.js';
import { toSiteView, type SiteView } from './site.view.js';

export interface RevertResult {
  dryRun: boolean;
  /** The compensating events recorded (or, with dryRun, that would be). */
  events: SiteEvent[];
  site: SiteView;
}

/** Brings a site back to its state at a time or version with compensating events (SPEC §5). */
export class RevertSiteCommand extends Command<RevertResult> {
  constructor(
    readonly siteId: string,
    readonly to: { asOf: string } | { version: number },
    readonly dryRun: boolean,
    readonly context: RequestContext,
  ) {
    super();
  }
}

@CommandHandler(RevertSiteCommand)
export class RevertSiteHandler implements ICommandHandler<RevertSiteCommand> {
  constructor(
    private readonly core: CommandCore,
    private readonly streams: SiteStreams,
    private readonly namespaces: IdNamespaces,
    @Inject(SITE_POLICY) private readonly policy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ siteId, to, dryRun, context }: RevertSiteCommand): Promise<RevertResult> {
    const actor = { id: context.principal.id, admin: hasRole(context.principal, 'admin') };
    return this.core.execute({ type: 'RevertSite', context }, async () => {
      const current = await this.streams.load(siteId);
      if (current.state.status === 'unregistered') throw new SiteNotFoundError(siteId);
      const target = await this.streams.load(siteId, 'asOf' in to ? { toTime: to.asOf } : { toVersion: to.version });
      const now = nextEventTime(this.clock, current.lastOccurredAt);
      const events = decideRevert(current.state, target.state, { now, actor }, this.policy);
      // Re-added products claim their installation IDs again, removed ones release them; a dry run
      // decides the claims too, so it is refused as the real revert would be.
      const claims = await this.namespaces.claims(events, context, now);
      const change = await this.streams.change(siteId, current, events, context, now);
      return {
        // A dry run answers what the events would lead to, and records nothing.
        appends: dryRun ? [] : [...claims, change.append],
        answer: () => ({ dryRun, events, site: toSiteView(change.state as RegisteredSite) }),
      };
    });
  }
}
