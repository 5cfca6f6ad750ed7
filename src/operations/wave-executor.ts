import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { EVENT_STORE, type EventStore, type StreamAppend } from '../event-store/event-store.port.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import type { RequestContext } from '../ledger/request-context.js';
import { OperationsProjection } from './operations.projection.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { decideSite, type SitePolicy } from '../sites/domain/site.decider.js';
import { SITE_POLICY } from '../sites/site-command.handler.js';
import { SiteStreams } from '../sites/site-streams.js';
import { decideOperation } from './domain/operation.decider.js';
import type { SkippedSite } from './domain/operation.events.js';
import type { OperationPolicy } from './domain/operation.plan.js';
import type { PlannedOperation } from './domain/operation.state.js';
import { OPERATION_POLICY } from './operation-policy.js';
import { OperationStreams } from './operation-streams.js';

/** A wave that keeps losing races to other writers is re-read and retried this often. */
const MAX_ATTEMPTS = 10;

/**
 * Runs the current wave of `running` operations in the background.
 *
 * Crash-safe by construction: progress lives only in the ledger. A wave is
 * decided from freshly read state and committed — every site's
 * SiteSoftDeleted and the operation's OperationWaveCompleted — with expected
 * versions (one transaction on SQLite). A site already deleted by this
 * operation (a wave cut short on a store without multi-stream transactions)
 * counts as deleted and is not deleted again. On start, and every
 * LEDGER_PURGE_INTERVAL, operations still `running` are resumed.
 */
@Injectable()
export class WaveExecutor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WaveExecutor');
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly operations: OperationStreams,
    private readonly sites: SiteStreams,
    private readonly index: OperationsProjection,
    private readonly readModels: ProjectionRunner,
    @Inject(SITE_POLICY) private readonly sitePolicy: SitePolicy,
    @Inject(OPERATION_POLICY) private readonly operationPolicy: OperationPolicy,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.resumeRunning();
    this.timer = setInterval(() => void this.resumeRunning(), this.config.purgeIntervalMs);
    this.timer.unref();
  }

  /** Stops at the next safe point: a wave cut short here resumes on the next start. */
  /** Workers stop before any resource closes (stores and the read model close on onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.idle();
  }

  /** Starts the current wave of an operation unless it is already running here. */
  start(operationId: string): void {
    if (this.inFlight.has(operationId) || this.stopping.signal.aborted) return;
    const run = this.runWave(operationId)
      .catch((error: unknown) => {
        // The operation stays `running`; the next resume pass retries it.
        this.logger.error(`wave of ${operationId} failed: ${error instanceof Error ? error.stack : String(error)}`);
      })
      .finally(() => this.inFlight.delete(operationId));
    this.inFlight.set(operationId, run);
  }

  /** Resolves when no wave is running in this process. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async resumeRunning(): Promise<void> {
    try {
      await this.readModels.catchUp();
      for (const operationId of this.index.idsWithStatus('running')) this.start(operationId);
    } catch (error) {
      this.logger.error(`resuming operations failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async runWave(operationId: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      if (this.stopping.signal.aborted) return;
      const operation = await this.operations.load(operationId);
      const state = operation.state;
      if (state.status !== 'running') return;
      const appends = await this.decideWave(operationId, state, operation.lastOccurredAt, operation);
      if (this.stopping.signal.aborted) return;
      try {
        const results = await this.store.appendMany(appends);
        const last = results.at(-1);
        if (last) await this.readModels.waitFor(last.position);
        return;
      } catch (error) {
        // Someone changed a site or the operation (abort, rollback) meanwhile: decide again.
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    this.logger.warn(`wave of ${operationId} lost ${MAX_ATTEMPTS} races in a row; it will be retried`);
  }

  /** The appends that carry out the operation's current wave, decided from fresh state. */
  private async decideWave(
    operationId: string,
    state: PlannedOperation,
    lastOccurredAt: string | undefined,
    loaded: Parameters<OperationStreams['append']>[1],
  ): Promise<StreamAppend[]> {
    const wave = state.plan.waves[state.nextWave - 1];
    if (!wave || !state.activation) throw new Error(`operation ${operationId} is running without a wave to run`);
    const actor = { id: state.activation.by, admin: false };
    const context: RequestContext = {
      principal: { id: state.activation.by, roles: new Set() },
      correlationId: operationId,
      causationId: state.activation.eventId,
      reason: state.plan.reason,
      ...(state.plan.ticket === null ? {} : { ticket: state.plan.ticket }),
    };
    const appends: StreamAppend[] = [];
    const deleted: string[] = [];
    const skipped: SkippedSite[] = [];
    const sites = await this.sites.loadMany(wave.siteIds);
    for (const [index, site] of sites.entries()) {
      const siteId = wave.siteIds[index]!;
      if (site.state.status === 'deleted' && site.state.deletion.operationId === operationId) {
        deleted.push(siteId); // done before a crash: never delete twice
        continue;
      }
      const now = nextEventTime(this.clock, site.lastOccurredAt);
      try {
        // Re-checked now: a site protected, held or deleted since the plan is skipped, not deleted.
        const events = decideSite(
          { type: 'SoftDeleteSite', data: { siteId, operationId }, metadata: { now, actor } },
          site.state,
          this.sitePolicy,
        );
        appends.push({
          streamId: siteStreamId(siteId),
          expectedVersion: site.version,
          events: await this.sites.prepare(siteId, events, context, now),
        });
        deleted.push(siteId);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        skipped.push({ siteId, reason: error.code });
      }
    }
    const now = nextEventTime(this.clock, lastOccurredAt);
    const events = decideOperation(
      { type: 'CompleteWave', data: { operationId, index: wave.index, deleted, skipped }, metadata: { now, actor } },
      state,
      this.operationPolicy,
    );
    appends.push(this.operations.append(operationId, loaded, events, context, now));
    return appends;
  }
}
