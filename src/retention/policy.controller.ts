import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import { Roles } from '../auth/roles.decorator.js';
import { RequestCtx } from '../http/request-context.decorator.js';
import type { RequestContext } from '../ledger/request-context.js';
import { ReasonDto } from '../http/common.dto.js';
import type { PurgePolicyState } from './domain/purge-policy.js';
import { PurgePolicy } from './purge-policy.service.js';
import { IdempotentWrites } from '../http/idempotent-writes.decorator.js';

export class PurgePolicyDto extends ReasonDto {
  @ApiProperty({ description: 'true freezes all purging; false resumes it' })
  @IsBoolean()
  paused: boolean;
}

@IdempotentWrites()
@ApiTags('policy')
@ApiBearerAuth()
@Controller('policy')
export class PolicyController {
  constructor(private readonly policy: PurgePolicy) {}

  @Get('purge')
  @Roles('viewer')
  @ApiOperation({ summary: 'Whether purging is frozen, since when, by whom and why' })
  async get(): Promise<PurgePolicyState> {
    return (await this.policy.load()).state;
  }

  @Put('purge')
  @Roles('admin')
  @ApiOperation({
    summary: 'Freeze or resume all purging (admin) — the first move in an incident; recorded as an event',
  })
  set(@Body() { paused, reason }: PurgePolicyDto, @RequestCtx() context: RequestContext): Promise<PurgePolicyState> {
    return this.policy.set(paused, { ...context, reason });
  }
}
