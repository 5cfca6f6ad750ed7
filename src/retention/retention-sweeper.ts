import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { KEY_STORE, type KeyStore } from '../crypto/key-store.port.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore, ConcurrentChangeError } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import { LEASES, type Leases } from '../leases/leases.port.js';
import { underLease } from '../leases/under-lease.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import type { SitePolicy } from '../sites/domain/site.decider.js';
import { SiteStreams } from '../sites/site-streams.js';
import { SITE_POLICY } from '../sites/sites.tokens.js';
import { decidePurge, RETENTION_ACTOR } from './domain/purge.js';
import { PurgePolicy } from './purge-policy.service.js';
import { RetentionProjection } from './retention.projection.js';

const BATCH = 500;
/** Keys destroyed at once (see shred). */
const SHRED_TOGETHER = 50;

export interface SweepResult {
  /** Another instance holds the sweeper's lease and sweeps instead; nothing was done here. */
  elsewhere?: true;
  paused: boolean;
  purged: string[];
  shredded: string[];
}

/**
 * Every LEDGER_PURGE_INTERVAL, purges each deleted site whose purgeAfter has
 * passed and that has no legal hold, then destroys its data key
 * (crypto-shredding). Each purge is re-decided on the site's own stream and
 * committed only if the purge switch has not moved since it was read, so a
 * freeze stops even a sweep already under way.
 *
 * Several instances: one sweeps at a time, under the lease
 * `retention-sweeper`; the others' passes find it held and do nothing.
 * Safety does not rest on the lease: a purge commits only at the site's
 * expected version, so no site is purged twice.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RetentionSweeper');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult> | undefined;
  private stopped = false;

  constructor(
    private readonly core: CommandCore,
    @Inject(KEY_STORE) private readonly keys: KeyStore,
    private readonly sites: SiteStreams,
    private readonly retention: RetentionProjection,
    private readonly readModels: ProjectionRunner,
    private readonly policy: PurgePolicy,
    @Inject(SITE_POLICY) private readonly sitePolicy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEASES) private readonly leases: Leases,
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
    this.sweeping ??= this.passUnderLease().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async passUnderLease(): Promise<SweepResult> {
    const lease = { ttlMs: this.config.leaseTtlMs, warn: (message: string) => this.logger.warn(message) };
    const outcome = await underLease(this.leases, 'retention-sweeper', lease, (lost) => this.pass(lost));
    return outcome.ran ? outcome.value : { elsewhere: true, paused: false, purged: [], shredded: [] };
  }

  private async pass(leaseLost: AbortSignal): Promise<SweepResult> {
    // Keys of sites purged before a crash cut the pass short come first.
    const shredded = await this.shred(this.retention.unshredded(BATCH));
    await this.readModels.catchUp();
    if ((await this.policy.load()).state.paused) return { paused: true, purged: [], shredded };
    const purged: string[] = [];
    const context: RequestContext = {
      principal: { id: RETENTION_ACTOR, roles: new Set() },
      correlationId: `retention-${randomUUID()}`,
      causationId: null,
      reason: 'retention period expired',
    };
    for (const siteId of this.retention.due(this.clock.now().toISOString(), BATCH)) {
      if (this.stopped || leaseLost.aborted) break;
      if (await this.purge(siteId, context)) {
        purged.push(siteId);
        this.logger.log({ siteId, correlationId: context.correlationId }, `site ${siteId} purged`);
      }
    }
    shredded.push(...(await this.shred(purged)));
    return { paused: false, purged, shredded };
  }

  /**
   * Purges one site if it is still due, re-decided on its own stream; the
   * purge commits only if the purge switch has not moved since it was read
   * in the same attempt, so a freeze recorded meanwhile wins.
   */
  private async purge(siteId: string, context: RequestContext): Promise<boolean> {
    try {
      return await this.core.execute({ type: 'PurgeSite', context }, async () => {
        const [policy, site] = await Promise.all([
          this.policy.load(),
          this.sites.load(siteId, {}, { contacts: 'withheld' }),
        ]);
        const now = nextEventTime(this.clock, site.lastOccurredAt);
        const events = decidePurge(siteId, site.state, policy.state, now, this.sitePolicy);
        const change = await this.sites.change(siteId, site, events, context, now);
        return { appends: [this.policy.unchangedSince(policy), change.append], answer: () => events.length > 0 };
      });
    } catch (error) {
      if (error instanceof ConcurrentChangeError) return false; // the next pass decides again
      throw error;
    }
  }

  /**
   * Destroys keys a slice at a time, concurrently: an engine that scrubs key
   * bytes by rewriting its key table (PostgreSQL) shares one rewrite among
   * the keys destroyed together. A failed slice is retried by the next pass
   * (destroying a key twice is harmless).
   */
  private async shred(siteIds: readonly string[]): Promise<string[]> {
    const done: string[] = [];
    for (let start = 0; start < siteIds.length; start += SHRED_TOGETHER) {
      const slice = siteIds.slice(start, start + SHRED_TOGETHER);
      await Promise.all(slice.map((siteId) => this.keys.destroyKey(siteId)));
      for (const siteId of slice) this.retention.markShredded(siteId);
      done.push(...slice);
    }
    return done;
  }
}
