import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator.js';
import { ApiProblems } from '../http/api-problems.js';
import type { VerificationReport } from './ledger-verifier.js';
import { VerifyLedgerQuery } from './verify-ledger.query.js';

/* Response shapes, for the OpenAPI document only. */

class BrokenLinkResponse {
  @ApiProperty({ example: 'site-site-1001' }) streamId: string;
  @ApiProperty({ example: 3 }) version: number;
  @ApiProperty({ format: 'uuid' }) eventId: string;
}

class VerificationResponse {
  @ApiProperty({ description: "Every stream's chain holds" }) ok: boolean;
  @ApiProperty({ description: 'Streams checked' }) streams: number;
  @ApiProperty({ description: 'Events checked' }) events: number;
  @ApiPropertyOptional({ description: 'Global position of the last event checked' }) lastPosition?: string;
  @ApiPropertyOptional({
    type: BrokenLinkResponse,
    description: 'The first event (global order) whose version, prevHash link or hash does not hold; absent when ok',
  })
  brokenAt?: BrokenLinkResponse;
}

@ApiTags('ledger')
@ApiBearerAuth()
@ApiProblems(401, 403, 503)
@Controller('ledger')
export class VerificationController {
  constructor(private readonly queries: QueryBus) {}

  @Get('verify')
  @Roles('viewer')
  @ApiOperation({
    summary: "Recompute every stream's SHA-256 hash chain from the store",
    description: 'Reads the whole ledger once; concurrent requests share one pass.',
  })
  @ApiOkResponse({ type: VerificationResponse })
  verify(): Promise<VerificationReport> {
    return this.queries.execute(new VerifyLedgerQuery());
  }
}
