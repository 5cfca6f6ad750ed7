import { Inject, Logger } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore } from '../ledger/command-core.js';
import type { RequestContext } from '../ledger/request-context.js';
import type { OperationCommand } from './domain/operation.commands.js';
import { decideOperation } from './domain/operation.decider.js';
import { PlanRejectedError } from './domain/operation.errors.js';
import type { SkippedSite } from './domain/operation.events.js';
import { decideRollback, rollbackTargets, type OperationSitePolicies } from './domain/operation.sites.js';
import { OperationSites } from './operation-sites.js';
import { OperationStreams, ticketOf } from './operation-streams.js';
import { loadedView, type OperationView } from './operation.view.js';
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
    await this.core.execute({ type: input.type, context }, async () => {
      const loaded = await this.operations.load(operationId);
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const command = { ...input, metadata: { now, actor: { id: context.principal.id } } } as OperationCommand;
      const events = decideOperation(command, loaded.state, this.policies.operation);
      const change = this.operations.change(operationId, loaded, events, context, now);
      return { appends: [change.append], answer: () => undefined };
    });
    // Read back (only what was appended): the answer names the position the change reached.
    const view = loadedView(operationId, await this.operations.load(operationId));
    // Waves run in the background; the answer (202) says the operation is running.
    if (input.type === 'ExecuteOperation' || input.type === 'ContinueOperation') this.executor.start(operationId);
    return view;
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
    return loadedView(operationId, await this.operations.load(operationId));
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
    const outcome = await this.core.execute({ type: 'RollbackOperation', context: withReason }, async () => {
      const loaded = await this.operations.load(operationId);
      const sites = await this.sites.read(rollbackTargets(loaded.state, operationId));
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const actor = { id: context.principal.id };
      const decision = decideRollback(loaded.state, sites, { operationId, reason, now, actor }, this.policies);
      const { restored, skipped } = decision;
      const ticket = ticketOf(loaded.state);
      const restoring = ticket === undefined ? withReason : { ...withReason, ticket };
      // A repeated rollback that restores nothing records nothing (decideRollback answers no events).
      if (dryRun || decision.operation.length === 0) return { appends: [], answer: () => ({ restored, skipped }) };
      const change = this.operations.change(operationId, loaded, decision.operation, withReason, now);
      const appends = [...(await this.sites.appends(sites, decision.sites, restoring)), change.append];
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
          return { restored, skipped };
        },
      };
    });
    const operation = loadedView(operationId, await this.operations.load(operationId));
    return { operationId, dryRun, ...outcome, operation };
  }
}
