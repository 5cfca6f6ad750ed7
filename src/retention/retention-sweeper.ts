import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { KEY_STORE, type KeyStore } from '../crypto/key-store.port.js';
import { WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { PURGE_POLICY_STREAM, siteStreamId } from '../event-store/ledger-streams.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { RetentionProjection } from './retention.projection.js';
import { decideSite, type SitePolicy } from '../sites/domain/site.decider.js';
import { SITE_POLICY } from '../sites/site-command.handler.js';
import { SiteStreams } from '../sites/site-streams.js';
import { PurgePolicy } from './purge-policy.service.js';

export const RETENTION_ACTOR = 'system:retention';
const BATCH = 500;

export interface SweepResult {
  paused: boolean;
  purged: string[];
  shredded: string[];
}

/**
 * Every LEDGER_PURGE_INTERVAL, purges each deleted site whose purgeAfter has
 * passed and that has no legal hold, then destroys its data key
 * (crypto-shredding). Each purge is re-decided on the site's own stream and
 * committed only if the purge policy stream has not moved since the sweep
 * read it, so a freeze stops even a sweep already under way.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RetentionSweeper');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult> | undefined;
  private stopped = false;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(KEY_STORE) private readonly keys: KeyStore,
    private readonly sites: SiteStreams,
    private readonly retention: RetentionProjection,
    private readonly readModels: ProjectionRunner,
    private readonly policy: PurgePolicy,
    @Inject(SITE_POLICY) private readonly sitePolicy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) =>
        this.logger.error(`sweep failed: ${error instanceof Error ? error.stack : String(error)}`),
      );
    }, this.config.purgeIntervalMs);
    this.timer.unref();
  }

  /** Workers stop before any resource closes (stores and the read model close on onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** One pass; concurrent calls share the pass under way. */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= this.pass().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async pass(): Promise<SweepResult> {
    // Keys of sites purged before a crash cut the pass short come first.
    const shredded = await this.shred(this.retention.unshredded(BATCH));
    await this.readModels.catchUp();
    const policy = await this.policy.load();
    if (policy.paused) return { paused: true, purged: [], shredded };
    const purged: string[] = [];
    const context: RequestContext = {
      principal: { id: RETENTION_ACTOR, roles: new Set() },
      correlationId: `retention-${randomUUID()}`,
      causationId: null,
      reason: 'retention period expired',
    };
    for (const siteId of this.retention.due(this.clock.now().toISOString(), BATCH)) {
      if (this.stopped) break;
      if (await this.purge(siteId, policy.version, context)) purged.push(siteId);
    }
    shredded.push(...(await this.shred(purged)));
    return { paused: false, purged, shredded };
  }

  private async purge(siteId: string, policyVersion: number, context: RequestContext): Promise<boolean> {
    const site = await this.sites.load(siteId);
    const now = nextEventTime(this.clock, site.lastOccurredAt);
    let events;
    try {
      events = decideSite(
        { type: 'PurgeSite', data: { siteId }, metadata: { now, actor: { id: RETENTION_ACTOR, admin: false } } },
        site.state,
        this.sitePolicy,
      );
    } catch (error) {
      if (error instanceof DomainError) return false; // restored, held or not yet due: the stream has the last word
      throw error;
    }
    try {
      const results = await this.store.appendMany([
        // An empty append that only checks the policy stream: a freeze since the read wins.
        { streamId: PURGE_POLICY_STREAM, expectedVersion: policyVersion, events: [] },
        { streamId: siteStreamId(siteId), expectedVersion: site.version, events: await this.sites.prepare(siteId, events, context, now) },
      ]);
      await this.readModels.waitFor(results.at(-1)!.position);
      return true;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false; // changed meanwhile; the next pass decides again
      throw error;
    }
  }

  private async shred(siteIds: readonly string[]): Promise<string[]> {
    const done: string[] = [];
    for (const siteId of siteIds) {
      await this.keys.destroyKey(siteId);
      this.retention.markShredded(siteId);
      done.push(siteId);
    }
    return done;
  }
}
