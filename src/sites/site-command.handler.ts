import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError } from '../common/domain-error.js';
import { WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { hasRole } from '../auth/principal.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import type { RequestContext } from '../ledger/request-context.js';
import type { SiteCommand } from './domain/site.commands.js';
import { decideSite, type SitePolicy } from './domain/site.decider.js';
import type { RegisteredSite } from './domain/site.state.js';
import { IdNamespaceGuard } from './id-namespace.guard.js';
import { SiteStreams } from './site-streams.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A site command as a caller gives it: the handler adds the time and the actor. */
export type SiteCommandInput = DistributiveOmit<SiteCommand, 'metadata'>;

export interface SiteCommandResult {
  site: RegisteredSite;
  /** False when the command asked for what was already true and nothing was recorded. */
  changed: boolean;
}

/** Runs any site command through the one command path. */
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

export const SITE_POLICY = Symbol('SITE_POLICY');

/** Attempts before a command that keeps losing races gives up with 409. */
const MAX_ATTEMPTS = 3;

/**
 * The one command path: read the stream → fold → decide → append with the
 * expected version. A lost race is retried on fresh state (the decider
 * re-checks every rule), unless the caller pinned a version with If-Match.
 */
@CommandHandler(ExecuteSiteCommand)
export class SiteCommandHandler implements ICommandHandler<ExecuteSiteCommand> {
  constructor(
    private readonly streams: SiteStreams,
    @Inject(SITE_POLICY) private readonly policy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly readModels: ProjectionRunner,
    private readonly namespace: IdNamespaceGuard,
  ) {}

  async execute({ input, context, ifMatch }: ExecuteSiteCommand): Promise<SiteCommandResult> {
    const siteId = input.data.siteId;
    await this.namespace.check(input);
    for (let attempt = 1; ; attempt += 1) {
      const loaded = await this.streams.load(siteId);
      if (ifMatch !== undefined && ifMatch !== loaded.version) {
        throw new VersionMismatchError(siteId, ifMatch, loaded.version);
      }
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const actor = { id: context.principal.id, admin: hasRole(context.principal, 'admin') };
      const command = { ...input, metadata: { now, actor } } as SiteCommand;
      const events = decideSite(command, loaded.state, this.policy);
      if (events.length === 0) {
        return { site: loaded.state as RegisteredSite, changed: false };
      }
      const prepared = await this.streams.prepare(siteId, events, context, now);
      try {
        const next = await this.streams.append(loaded, siteId, events, prepared);
        // Read-your-writes: once a command has answered, lists and plans see it.
        if (next.position !== undefined) await this.readModels.waitFor(next.position);
        return { site: next.state as RegisteredSite, changed: true };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (ifMatch !== undefined) throw new VersionMismatchError(siteId, ifMatch, error.actualVersion);
        if (attempt >= MAX_ATTEMPTS) throw new ConcurrentChangeError(siteId);
      }
    }
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

export class ConcurrentChangeError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.concurrent-change', `site ${siteId} kept changing under this request; retry it`);
  }
}
