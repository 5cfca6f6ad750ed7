import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { hasRole } from '../auth/principal.js';
import { WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { evolveSite, type SitePolicy } from './domain/site.decider.js';
import type { SiteEvent } from './domain/site.events.js';
import { SiteNotFoundError } from './domain/site.errors.js';
import { decideRevert } from './domain/site.revert.js';
import type { RegisteredSite, SiteState } from './domain/site.state.js';
import { SITE_POLICY } from './site-command.handler.js';
import { SiteStreams } from './site-streams.js';
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
    private readonly streams: SiteStreams,
    private readonly readModels: ProjectionRunner,
    @Inject(SITE_POLICY) private readonly policy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ siteId, to, dryRun, context }: RevertSiteCommand): Promise<RevertResult> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.streams.load(siteId);
      if (current.state.status === 'unregistered') throw new SiteNotFoundError(siteId);
      const target = await this.streams.load(siteId, 'asOf' in to ? { toTime: to.asOf } : { toVersion: to.version });
      const now = nextEventTime(this.clock, current.lastOccurredAt);
      const actor = { id: context.principal.id, admin: hasRole(context.principal, 'admin') };
      const events = decideRevert(current.state, target.state, { now, actor }, this.policy);
      if (dryRun || events.length === 0) {
        return { dryRun, events, site: toSiteView(preview(current.state, events, now)) };
      }
      const prepared = await this.streams.prepare(siteId, events, context, now);
      try {
        const next = await this.streams.append(current, siteId, events, prepared);
        if (next.position !== undefined) await this.readModels.waitFor(next.position);
        return { dryRun, events, site: toSiteView(next.state as RegisteredSite) };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= 3) throw error;
      }
    }
  }
}

/** The state the events would lead to, for a dry run. */
function preview(state: SiteState, events: readonly SiteEvent[], now: string): RegisteredSite {
  let next = state;
  for (const event of events) {
    const version = (next as RegisteredSite).version + 1;
    next = evolveSite(next, { ...event, eventId: 'dry-run', version, occurredAt: now });
  }
  return next as RegisteredSite;
}
