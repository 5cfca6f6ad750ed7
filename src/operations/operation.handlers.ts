import { Inject, Logger } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import type { OperationCommand } from './domain/operation.commands.js';
import { decideOperation } from './domain/operation.decider.js';
import { OperationNotFoundError, PlanRejectedError } from './domain/operation.errors.js';
import type { SkippedSite } from './domain/operation.events.js';
import { decideRollback, rollbackTargets, type OperationSitePolicies } from './domain/operation.sites.js';
import type { OperationState } from './domain/operation.state.js';
import { OperationSites } from './operation-sites.js';
import { OperationStreams } from './operation-streams.js';
import { toOperationView, type OperationView } from './operation.view.js';
import { OPERATION_POLICIES } from './operations.tokens.js';
import { PlanResolver } from './plan-resolver.js';
import { WaveExecutor } from './wave-executor.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type OperationCommandInput = DistributiveOmit<
  Exclude<OperationCommand, { type: 'PlanOperation' | 'CompleteWave' | 'RecordRollback' }>,
  'metadata'
>;

/** Approve, execute, continue or abort: one operation stream, one decision. */
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
    private readonly core: CommandCore,
    private readonly operations: OperationStreams,
    private readonly executor: WaveExecutor,
    @Inject(OPERATION_POLICIES) private readonly policies: OperationSitePolicies,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input, context }: RunOperationCommand): Promise<OperationView> {
    const { operationId } = input.data;
    const state = await this.core.execute({ type: input.type, context }, async () => {
      const loaded = await this.operations.load(operationId);
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const command = { ...input, metadata: { now, actor: { id: context.principal.id } } } as OperationCommand;
      const events = decideOperation(command, loaded.state, this.policies.operation);
      const change = this.operations.change(operationId, loaded, events, context, now);
      return { appends: [change.append], answer: () => change.state };
    });
    // Waves run in the background; the answer (202) says the operation is running.
    if (input.type === 'ExecuteOperation' || input.type === 'ContinueOperation') this.executor.start(operationId);
    return viewOf(operationId, state);
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
    private readonly core: CommandCore,
    private readonly operations: OperationStreams,
    private readonly resolver: PlanResolver,
    @Inject(OPERATION_POLICIES) private readonly policies: OperationSitePolicies,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ request, context }: PlanOperationCommand): Promise<OperationView> {
    const operationId = `op_${randomUUID()}`;
    const state = await this.core.execute({ type: 'PlanOperation', context }, async () => {
      const loaded = await this.operations.load(operationId);
      const resolved = await this.resolver.resolve(request.siteIds);
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const events = decideOperation(
        {
          type: 'PlanOperation',
          data: { operationId, ...request, resolved },
          metadata: { now, actor: { id: context.principal.id } },
        },
        loaded.state,
        this.policies.operation,
      );
      const change = this.operations.change(operationId, loaded, events, { ...context, reason: request.reason }, now);
      return { appends: [change.append], answer: () => change.state };
    });
    // A rejected plan is recorded (who asked, every problem) and answered 422.
    if (state.status === 'rejected') throw new PlanRejectedError(operationId, state.rejection.problems);
    return viewOf(operationId, state);
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
 * Restores every site this operation deleted that is still deleted by it
 * (see decideRollback) and records OperationRolledBack, all in one commit.
 * `dryRun` only reports.
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
  private readonly logger = new Logger('Rollback');

  constructor(
    private readonly core: CommandCore,
    private readonly operations: OperationStreams,
    private readonly sites: OperationSites,
    @Inject(OPERATION_POLICIES) private readonly policies: OperationSitePolicies,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ operationId, reason, dryRun, context }: RollbackOperationCommand): Promise<RollbackResult> {
    const withReason = { ...context, reason };
    return this.core.execute<RollbackResult>({ type: 'RollbackOperation', context: withReason }, async () => {
      const loaded = await this.operations.load(operationId);
      const sites = await this.sites.read(rollbackTargets(loaded.state, operationId));
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const actor = { id: context.principal.id };
      const decision = decideRollback(loaded.state, sites, { operationId, reason, now, actor }, this.policies);
      const { restored, skipped } = decision;
      if (dryRun) {
        return {
          appends: [],
          answer: () => ({ operationId, dryRun, restored, skipped, operation: viewOf(operationId, loaded.state) }),
        };
      }
      const change = this.operations.change(operationId, loaded, decision.operation, withReason, now);
      const appends = [...(await this.sites.appends(sites, decision.sites, withReason)), change.append];
      return {
        appends,
        answer: () => {
          this.logger.log(
            {
              operationId,
              restored: restored.length,
              skipped: skipped.length,
              actor: context.principal.id,
              correlationId: context.correlationId,
            },
            `operation ${operationId}: rolled back (${restored.length} sites restored, ${skipped.length} skipped)`,
          );
          return { operationId, dryRun, restored, skipped, operation: viewOf(operationId, change.state) };
        },
      };
    });
  }
}

function viewOf(operationId: string, state: OperationState): OperationView {
  if (state.status === 'none') throw new OperationNotFoundError(operationId);
  return toOperationView(state);
}
