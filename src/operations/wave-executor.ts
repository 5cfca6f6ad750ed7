import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore, ConcurrentChangeError } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { currentWave, decideWave, type OperationSitePolicies } from './domain/operation.sites.js';
import type { PlannedOperation } from './domain/operation.state.js';
import { OperationSites } from './operation-sites.js';
import { OperationStreams } from './operation-streams.js';
import { OperationsProjection } from './operations.projection.js';
import { OPERATION_POLICIES } from './operations.tokens.js';

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
    private readonly core: CommandCore,
    private readonly operations: OperationStreams,
    private readonly sites: OperationSites,
    private readonly index: OperationsProjection,
    private readonly readModels: ProjectionRunner,
    @Inject(OPERATION_POLICIES) private readonly policies: OperationSitePolicies,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.resumeRunning();
    this.timer = setInterval(() => void this.resumeRunning(), this.config.purgeIntervalMs);
    this.timer.unref();
  }

  /**
   * Stops at the next safe point: a wave cut short here resumes on the next
   * start. Workers stop before any resource closes (stores and the read
   * model close on onApplicationShutdown).
   */
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
    try {
      await this.core.execute(async () => {
        const operation = await this.operations.load(operationId);
        const { state } = operation;
        const wave = currentWave(state);
        // Paused, aborted or finished meanwhile (or we are stopping): nothing to run.
        if (state.status !== 'running' || wave === undefined || this.stopping.signal.aborted) {
          return { appends: [], answer: () => undefined };
        }
        const sites = await this.sites.read(wave.siteIds);
        const now = nextEventTime(this.clock, operation.lastOccurredAt);
        const decision = decideWave(state, sites, now, this.policies);
        const context = waveContext(state);
        const change = this.operations.change(operationId, operation, decision.operation, context, now);
        const appends = [...(await this.sites.appends(sites, decision.sites, context)), change.append];
        // Stopping while the wave was read and decided: the next start decides it again.
        return { appends: this.stopping.signal.aborted ? [] : appends, answer: () => undefined };
      });
    } catch (error) {
      if (!(error instanceof ConcurrentChangeError)) throw error;
      // The operation stays running; the next resume pass decides the wave again.
      this.logger.warn(
        `wave of ${operationId} kept losing races to other writers; it will be retried (${error.message})`,
      );
    }
  }
}

/** Who a wave's events are recorded as, and what caused them: the principal and event that set the wave going. */
function waveContext(state: PlannedOperation): RequestContext {
  const { activation, plan } = state;
  if (activation === undefined) throw new Error(`operation ${plan.operationId} is running without an activation`);
  return {
    principal: { id: activation.by, roles: new Set() },
    correlationId: plan.operationId,
    causationId: activation.eventId,
    reason: plan.reason,
    ...(plan.ticket === null ? {} : { ticket: plan.ticket }),
  };
}
