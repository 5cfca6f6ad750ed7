import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore, ConcurrentChangeError } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import { LEASES, type Leases } from '../leases/leases.port.js';
import { underLease } from '../leases/under-lease.js';
import { LedgerMetrics } from '../observability/ledger-metrics.js';
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
 * counts as deleted and is not deleted again.
 *
 * Several instances: an operation's wave runs on one instance at a time,
 * under the lease `operation-<id>` (LEDGER_LEASE_TTL). The instance that
 * took the command runs it at once; every instance looks for `running`
 * operations at start and every second (or third of the lease's ttl, if
 * shorter), so if the runner dies, another takes the lapsed lease over and
 * decides the wave again from the ledger. The lease only spares work: expected versions keep a site
 * from being deleted twice whoever runs the wave.
 */
/** How often every instance looks for running operations whose runner is gone (at most). */
const RESUME_EVERY_MS = 1_000;

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
    @Inject(LEASES) private readonly leases: Leases,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly metrics: LedgerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    void this.resumeRunning();
    // A look costs one local query and one for the store's last position;
    // looking often makes a dead runner's wave resume soon after its lease lapses.
    this.timer = setInterval(() => void this.resumeRunning(), Math.min(RESUME_EVERY_MS, this.config.leaseTtlMs / 3));
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

  /** Starts the current wave of an operation unless it is already running here or on another instance. */
  start(operationId: string): void {
    if (this.inFlight.has(operationId) || this.stopping.signal.aborted) return;
    const lease = { ttlMs: this.config.leaseTtlMs, warn: (message: string) => this.logger.warn(message) };
    const run = underLease(this.leases, `operation-${operationId}`, lease, (lost) => this.runWave(operationId, lost))
      .then(() => undefined)
      .catch((error: unknown) => {
        // The operation stays `running`; the next resume pass retries it.
        if (error instanceof EventStoreUnavailableError) {
          this.logger.warn(`wave of ${operationId} waits for the event store: ${error.message}`);
        } else {
          this.logger.error(`wave of ${operationId} failed: ${error instanceof Error ? error.stack : String(error)}`);
        }
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

  private async runWave(operationId: string, leaseLost: AbortSignal): Promise<void> {
    // Stopping, or the lease went to another instance: whoever runs next decides the wave again.
    const mustStop = () => this.stopping.signal.aborted || leaseLost.aborted;
    const started = performance.now();
    // Who set the wave going is known once the operation is read; until then the line names the executor.
    const command = { type: 'CompleteWave', context: executorContext(operationId) };
    try {
      await this.core.execute(command, async () => {
        const operation = await this.operations.load(operationId);
        const { state } = operation;
        const wave = currentWave(state);
        // Paused, aborted or finished meanwhile (or we must stop): nothing to run.
        if (state.status !== 'running' || wave === undefined || mustStop()) {
          return { appends: [], answer: () => undefined };
        }
        const sites = await this.sites.read(wave.siteIds);
        const now = nextEventTime(this.clock, operation.lastOccurredAt);
        const decision = decideWave(state, sites, now, this.policies);
        const context = waveContext(state);
        command.context = context;
        const change = this.operations.change(operationId, operation, decision.operation, context, now);
        const appends = [...(await this.sites.appends(sites, decision.sites, context)), change.append];
        if (mustStop()) return { appends: [], answer: () => undefined };
        const completed = decision.operation.find((event) => event.type === 'OperationWaveCompleted');
        return {
          appends,
          answer: () => {
            const seconds = (performance.now() - started) / 1000;
            this.metrics.waves.inc({ kind: wave.kind });
            this.metrics.waveDuration.observe(seconds);
            const [deleted, skipped] = [completed?.data.deleted.length ?? 0, completed?.data.skipped.length ?? 0];
            this.logger.log(
              {
                operationId,
                wave: wave.index,
                kind: wave.kind,
                deleted,
                skipped,
                correlationId: context.correlationId,
                durationMs: Math.round(seconds * 1000),
              },
              `operation ${operationId}: wave ${wave.index} recorded (${deleted} sites deleted, ${skipped} skipped)`,
            );
          },
        };
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

/** The wave executor itself, as the actor of a wave attempt that ended before the operation was read. */
function executorContext(operationId: string): RequestContext {
  return { principal: { id: 'system:waves', roles: new Set() }, correlationId: operationId, causationId: null };
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
