import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { EVENT_STORE, type EventStore, type StreamAppend } from '../event-store/event-store.port.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { decideSite, type SitePolicy } from '../sites/domain/site.decider.js';
import { SITE_POLICY } from '../sites/site-command.handler.js';
import { SiteStreams } from '../sites/site-streams.js';
import type { OperationCommand } from './domain/operation.commands.js';
import { decideOperation } from './domain/operation.decider.js';
import { OperationNotFoundError, PlanRejectedError } from './domain/operation.errors.js';
import type { SkippedSite } from './domain/operation.events.js';
import type { OperationPolicy } from './domain/operation.plan.js';
import { OPERATION_POLICY } from './operation-policy.js';
import { OperationStreams } from './operation-streams.js';
import { toOperationView, type OperationView } from './operation.view.js';
import { PlanResolver } from './plan-resolver.js';
import { WaveExecutor } from './wave-executor.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type OperationCommandInput = DistributiveOmit<
  Exclude<OperationCommand, { type: 'PlanOperation' | 'CompleteWave' | 'RecordRollback' }>,
  'metadata'
>;

const MAX_ATTEMPTS = 3;

/**
 * What every operation command does once it has decided: commit what it
 * decided, wait until the read models include it (read-your-writes), and
 * answer the operation as it now is.
 */
@Injectable()
export class OperationCommits {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly operations: OperationStreams,
    private readonly readModels: ProjectionRunner,
  ) {}

  /** Commits the appends together (one transaction on SQLite) and waits for the read models. */
  async commit(appends: readonly StreamAppend[]): Promise<void> {
    const results = await this.store.appendMany(appends);
    const last = results.at(-1);
    if (last) await this.readModels.waitFor(last.position);
  }

  /** The operation as it is now. */
  async view(operationId: string): Promise<OperationView> {
    const { state } = await this.operations.load(operationId);
    if (state.status === 'none') throw new OperationNotFoundError(operationId);
    return toOperationView(state);
  }
}

/**
 * Runs `attempt` again while another writer got to a stream first (a wave,
 * another command): each attempt loads and decides on fresh state.
 */
async function retryOnConflict<T>(attempts: number, attempt: () => Promise<T>): Promise<T> {
  for (let tried = 1; ; tried += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || tried >= attempts) throw error;
    }
  }
}

/** Approve, execute, continue or abort: the generic command path for an operation. */
export class RunOperationCommand extends Command<OperationView> {
  constructor(
    readonly input: OperationCommandInput,
    readonly context: RequestContext,
  ) {
    super();
  }
}

@CommandHandler(RunOperationCommand)
export class RunOperationHandler implements ICommandHandler<RunOperationCommand> {
  constructor(
    private readonly operations: OperationStreams,
    private readonly commits: OperationCommits,
    private readonly executor: WaveExecutor,
    @Inject(OPERATION_POLICY) private readonly policy: OperationPolicy,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input, context }: RunOperationCommand): Promise<OperationView> {
    const { operationId } = input.data;
    await retryOnConflict(MAX_ATTEMPTS, async () => {
      const loaded = await this.operations.load(operationId);
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const command = { ...input, metadata: { now, actor: { id: context.principal.id } } } as OperationCommand;
      const events = decideOperation(command, loaded.state, this.policy);
      await this.commits.commit([this.operations.append(operationId, loaded, events, context, now)]);
    });
    // Waves run in the background; the answer (202) says the operation is running.
    if (input.type === 'ExecuteOperation' || input.type === 'ContinueOperation') this.executor.start(operationId);
    return this.commits.view(operationId);
  }
}

/** Plans a deletion (SPEC §4 step 1): resolves every ID, then records the plan or its rejection. */
export class PlanOperationCommand extends Command<OperationView> {
  constructor(
    readonly request: { action: string; siteIds: string[]; reason: string; ticket: string | null },
    readonly context: RequestContext,
  ) {
    super();
  }
}

@CommandHandler(PlanOperationCommand)
export class PlanOperationHandler implements ICommandHandler<PlanOperationCommand> {
  constructor(
    private readonly operations: OperationStreams,
    private readonly commits: OperationCommits,
    private readonly resolver: PlanResolver,
    @Inject(OPERATION_POLICY) private readonly policy: OperationPolicy,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ request, context }: PlanOperationCommand): Promise<OperationView> {
    const operationId = `op_${randomUUID()}`;
    const loaded = await this.operations.load(operationId);
    const resolved = await this.resolver.resolve(request.siteIds);
    const now = nextEventTime(this.clock, undefined);
    const events = decideOperation(
      {
        type: 'PlanOperation',
        data: { operationId, ...request, resolved },
        metadata: { now, actor: { id: context.principal.id } },
      },
      loaded.state,
      this.policy,
    );
    await this.commits.commit([this.operations.append(operationId, loaded, events, { ...context, reason: request.reason }, now)]);
    const [event] = events;
    // A rejected plan is recorded (who asked, every problem) and answered 422.
    if (event?.type === 'OperationRejected') throw new PlanRejectedError(operationId, event.data.problems);
    return this.commits.view(operationId);
  }
}

export interface RollbackResult {
  operationId: string;
  dryRun: boolean;
  restored: string[];
  skipped: SkippedSite[];
  operation: OperationView;
}

/**
 * Restores every site this operation deleted that is still deleted by it,
 * each with a SiteRestored naming the deletion it compensates, and records
 * OperationRolledBack — together, in one commit on SQLite. Repeating it
 * restores nothing twice. `dryRun` only reports.
 */
export class RollbackOperationCommand extends Command<RollbackResult> {
  constructor(
    readonly operationId: string,
    readonly reason: string,
    readonly dryRun: boolean,
    readonly context: RequestContext,
  ) {
    super();
  }
}

@CommandHandler(RollbackOperationCommand)
export class RollbackOperationHandler implements ICommandHandler<RollbackOperationCommand> {
  constructor(
    private readonly operations: OperationStreams,
    private readonly commits: OperationCommits,
    private readonly sites: SiteStreams,
    @Inject(OPERATION_POLICY) private readonly policy: OperationPolicy,
    @Inject(SITE_POLICY) private readonly sitePolicy: SitePolicy,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ operationId, reason, dryRun, context }: RollbackOperationCommand): Promise<RollbackResult> {
    const withReason = { ...context, reason };
    // A wave or another change may land meanwhile: each attempt decides again on fresh state.
    return retryOnConflict(MAX_ATTEMPTS * 3, async () => {
      const loaded = await this.operations.load(operationId);
      const state = loaded.state;
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const metadata = { now, actor: { id: context.principal.id } };
      // Checks the operation may be rolled back before any site is read.
      decideOperation({ type: 'RecordRollback', data: { operationId, reason, restored: [], skipped: [] }, metadata }, state, this.policy);
      if (state.status === 'none' || state.status === 'rejected') throw new OperationNotFoundError(operationId);

      const everDeleted = new Set(state.waveOutcomes.flatMap((outcome) => outcome.deleted));
      const appends: StreamAppend[] = [];
      const restored: string[] = [];
      const skipped: SkippedSite[] = [];
      const targets = state.plan.targets.map((target) => target.siteId);
      const sites = await this.sites.loadMany(targets);
      for (const [index, site] of sites.entries()) {
        const siteId = targets[index]!;
        const s = site.state;
        if (s.status === 'deleted' && s.deletion.operationId === operationId) {
          const siteNow = nextEventTime(this.clock, site.lastOccurredAt);
          const events = decideSite(
            { type: 'RestoreSite', data: { siteId }, metadata: { now: siteNow, actor: { id: context.principal.id, admin: false } } },
            s,
            this.sitePolicy,
          );
          appends.push({
            streamId: siteStreamId(siteId),
            expectedVersion: site.version,
            events: await this.sites.prepare(siteId, events, withReason, siteNow),
          });
          restored.push(siteId);
        } else if (everDeleted.has(siteId)) {
          skipped.push({ siteId, reason: skipReason(s) });
        }
      }
      if (dryRun) {
        return { operationId, dryRun, restored, skipped, operation: toOperationView(state) };
      }
      const events = decideOperation(
        { type: 'RecordRollback', data: { operationId, reason, restored, skipped }, metadata },
        state,
        this.policy,
      );
      appends.push(this.operations.append(operationId, loaded, events, withReason, now));
      await this.commits.commit(appends);
      return { operationId, dryRun, restored, skipped, operation: await this.commits.view(operationId) };
    });
  }
}

/** Why a site this operation deleted is not restored now. */
function skipReason(state: Awaited<ReturnType<SiteStreams['load']>>['state']): string {
  switch (state.status) {
    case 'purged':
      return 'site.purged';
    case 'deleted':
      return 'site.deleted-by-another-operation';
    default:
      return 'site.not-deleted';
  }
}

