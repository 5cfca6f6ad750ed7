import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator.js';
import { RequestCtx } from '../http/request-context.decorator.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ApiProblems } from '../http/api-problems.js';
import {
  AbortDto,
  DigestDto,
  ListOperationsQueryDto,
  OperationParams,
  PlanOperationDto,
  RollbackDto,
} from './operation.dto.js';
import { OperationPageResponse, OperationResponse, RollbackResponse } from './operation-responses.dto.js';
import {
  PlanOperationCommand,
  RollbackOperationCommand,
  RunOperationCommand,
  type RollbackResult,
} from './operation.handlers.js';
import { GetOperationQuery, ListOperationsQuery, type OperationPage } from './operation.queries.js';
import type { OperationView } from './operation.view.js';
import { IdempotentWrites } from '../http/idempotent-writes.decorator.js';

/** A step of an existing operation: what its answers can say besides the operation. */
const OPERATION_STEP = ApiProblems(
  400,
  [404, 'No such operation'],
  [409, "The operation's state or the four-eyes rules forbid it; `code` says which"],
  413,
);

/**
 * Deletion operations (SPEC §4): the only way a site is ever deleted — softly,
 * after review by a second person, in progressive waves, with a rollback.
 */
@IdempotentWrites()
@ApiTags('operations')
@ApiBearerAuth()
@ApiProblems(401, 403, 500, 503)
@Controller('operations')
export class OperationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('operator')
  @ApiOperation({ summary: 'Plan a soft delete; every ID is resolved, one problem rejects the whole plan (422)' })
  @ApiCreatedResponse({ description: 'Planned: review targets, waves and digest', type: OperationResponse })
  @ApiProblems(400, [409, 'A conflicting write; retry'], 413, [
    422,
    'Rejected and recorded: `errors` lists every problem; `operationId` names the record',
  ])
  plan(@Body() body: PlanOperationDto, @RequestCtx() context: RequestContext): Promise<OperationView> {
    return this.commands.execute(
      new PlanOperationCommand(
        { action: body.action, siteIds: body.siteIds, reason: body.reason, ticket: body.ticket ?? null },
        context,
      ),
    );
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'Operations, oldest first' })
  @ApiOkResponse({ type: OperationPageResponse })
  @ApiProblems(400)
  list(@Query() query: ListOperationsQueryDto): Promise<OperationPage> {
    return this.queries.execute(
      new ListOperationsQuery({
        ...(query.status === undefined ? {} : { status: query.status }),
        after: query.cursor === undefined ? 0 : Number(query.cursor),
        limit: query.limit ?? 50,
      }),
    );
  }

  @Get(':operationId')
  @Roles('viewer')
  @ApiOperation({ summary: 'One operation: plan, approvals, waves, progress' })
  @ApiOkResponse({ type: OperationResponse })
  @ApiProblems(400, [404, 'No such operation'])
  get(@Param() { operationId }: OperationParams): Promise<OperationView> {
    return this.queries.execute(new GetOperationQuery(operationId));
  }

  @Post(':operationId/approve')
  @HttpCode(200)
  @Roles('approver')
  @ApiOperation({ summary: 'Approve the plan with its digest; never by the requester, once per approver' })
  @ApiOkResponse({ type: OperationResponse })
  @OPERATION_STEP
  approve(
    @Param() { operationId }: OperationParams,
    @Body() { digest }: DigestDto,
    @RequestCtx() context: RequestContext,
  ): Promise<OperationView> {
    return this.commands.execute(
      new RunOperationCommand({ type: 'ApproveOperation', data: { operationId, digest } }, context),
    );
  }

  @Post(':operationId/execute')
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'Start the waves once approvals are complete; wave 1 runs, then the operation pauses' })
  @ApiAcceptedResponse({ description: 'Running in the background', type: OperationResponse })
  @OPERATION_STEP
  execute(
    @Param() { operationId }: OperationParams,
    @Body() { digest }: DigestDto,
    @RequestCtx() context: RequestContext,
  ): Promise<OperationView> {
    return this.commands.execute(
      new RunOperationCommand({ type: 'ExecuteOperation', data: { operationId, digest } }, context),
    );
  }

  @Post(':operationId/continue')
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'Run the next wave of a paused operation' })
  @ApiAcceptedResponse({ description: 'Running in the background', type: OperationResponse })
  @ApiBody({
    required: false,
    description: 'Nothing to say: send no body or an empty object',
    schema: { type: 'object', properties: {}, additionalProperties: false },
  })
  @OPERATION_STEP
  continue(@Param() { operationId }: OperationParams, @RequestCtx() context: RequestContext): Promise<OperationView> {
    return this.commands.execute(
      new RunOperationCommand({ type: 'ContinueOperation', data: { operationId } }, context),
    );
  }

  @Post(':operationId/abort')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Stop further waves (sites already deleted stay deleted until a rollback)' })
  @ApiOkResponse({ type: OperationResponse })
  @OPERATION_STEP
  abort(
    @Param() { operationId }: OperationParams,
    @Body() { reason }: AbortDto,
    @RequestCtx() context: RequestContext,
  ): Promise<OperationView> {
    return this.commands.execute(
      new RunOperationCommand({ type: 'AbortOperation', data: { operationId, reason } }, { ...context, reason }),
    );
  }

  @Post(':operationId/rollback')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Restore every site this operation deleted that is still deleted (no approval: restoring is never destructive)',
  })
  @ApiOkResponse({ type: RollbackResponse })
  @OPERATION_STEP
  rollback(
    @Param() { operationId }: OperationParams,
    @Body() body: RollbackDto,
    @RequestCtx() context: RequestContext,
  ): Promise<RollbackResult> {
    return this.commands.execute(new RollbackOperationCommand(operationId, body.reason, body.dryRun ?? false, context));
  }
}
