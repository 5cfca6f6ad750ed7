import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import { Roles } from '../auth/roles.decorator.js';
import { RequestCtx } from '../http/request-context.decorator.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ApiProblems } from '../http/api-problems.js';
import { ReasonDto } from '../http/common.dto.js';
import type { PurgePolicyState } from './domain/purge-policy.js';
import { PurgePolicy } from './purge-policy.service.js';
import { IdempotentWrites } from '../http/idempotent-writes.decorator.js';

export class PurgePolicyDto extends ReasonDto {
  @ApiProperty({ description: 'true freezes all purging; false resumes it' })
  @IsBoolean()
  paused: boolean;
}

/** PurgePolicyState, for the OpenAPI document. */
export class PurgePolicyResponse {
  @ApiProperty({ description: 'true while all purging is frozen' }) paused: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'Why it was last changed; null if never' })
  reason: string | null;
  @ApiProperty({ type: String, nullable: true }) changedBy: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) changedAt: string | null;
  @ApiProperty({ type: 'integer', description: 'Version of the policy stream' }) version: number;
}

@IdempotentWrites()
@ApiTags('policy')
@ApiBearerAuth()
@ApiProblems(401, 403, 503)
@Controller('policy')
export class PolicyController {
  constructor(private readonly policy: PurgePolicy) {}

  @Get('purge')
  @Roles('viewer')
  @ApiOperation({ summary: 'Whether purging is frozen, since when, by whom and why' })
  @ApiOkResponse({ type: PurgePolicyResponse })
  async get(): Promise<PurgePolicyState> {
    return (await this.policy.load()).state;
  }

  @Put('purge')
  @Roles('admin')
  @ApiOperation({
    summary: 'Freeze or resume all purging (admin) — the first move in an incident; recorded as an event',
  })
  @ApiOkResponse({ type: PurgePolicyResponse })
  @ApiProblems(400, [409, 'A conflicting write; retry'], 413)
  set(@Body() { paused, reason }: PurgePolicyDto, @RequestCtx() context: RequestContext): Promise<PurgePolicyState> {
    return this.policy.set(paused, { ...context, reason });
  }
}
