import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { hasRole } from '../auth/principal.js';
import { DomainError } from '../common/domain-error.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import type { SiteCommand } from './domain/site.commands.js';
import { decideSite, type SitePolicy } from './domain/site.decider.js';
import type { RegisteredSite } from './domain/site.state.js';
import { IdNamespaces } from './id-namespaces.js';
import { SiteStreams } from './site-streams.js';
import { SITE_POLICY } from './sites.tokens.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A site command as a caller gives it: the handler adds the time and the actor. */
export type SiteCommandInput = DistributiveOmit<SiteCommand, 'metadata'>;

export interface SiteCommandResult {
  site: RegisteredSite;
  /** False when the command asked for what was already true and nothing was recorded. */
  changed: boolean;
}

/** Runs any site command. */
export class ExecuteSiteCommand extends Command<SiteCommandResult> {
  constructor(
    readonly input: SiteCommandInput,
    readonly context: RequestContext,
    /** The version the caller saw (`If-Match`); the command fails with 412 if the site moved on. */
    readonly ifMatch?: number,
  ) {
    super();
  }
}

/**
 * Every site command: load the site, decide with the site decider, claim the
 * IDs the decided events take (or give back), commit both through the command core.
 */
@CommandHandler(ExecuteSiteCommand)
export class SiteCommandHandler implements ICommandHandler<ExecuteSiteCommand> {
  constructor(
    private readonly core: CommandCore,
    private readonly streams: SiteStreams,
    private readonly namespaces: IdNamespaces,
    @Inject(SITE_POLICY) private readonly policy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input, context, ifMatch }: ExecuteSiteCommand): Promise<SiteCommandResult> {
    const siteId = input.data.siteId;
    const actor = { id: context.principal.id, admin: hasRole(context.principal, 'admin') };
    return this.core.execute({ type: input.type, context }, async () => {
      const site = await this.streams.load(siteId);
      // Checked on every attempt: after a lost race the site has moved on, and If-Match then fails.
      if (ifMatch !== undefined && ifMatch !== site.version)
        throw new VersionMismatchError(siteId, ifMatch, site.version);
      const now = nextEventTime(this.clock, site.lastOccurredAt);
      const events = decideSite({ ...input, metadata: { now, actor } } as SiteCommand, site.state, this.policy);
      const claims = await this.namespaces.claims(events, context, now);
      const change = await this.streams.change(siteId, site, events, context, now);
      return {
        // Claims first: on an engine that commits stream by stream, an ID is claimed before the site uses it.
        appends: [...claims, change.append],
        answer: () => ({ site: change.state as RegisteredSite, changed: events.length > 0 }),
      };
    });
  }
}

export class VersionMismatchError extends DomainError {
  constructor(siteId: string, expected: number, actual: number) {
    super(
      'precondition-failed',
      'site.version-mismatch',
      `site ${siteId} is at version ${actual}, not ${expected} (If-Match); read it again and retry`,
    );
  }
}
