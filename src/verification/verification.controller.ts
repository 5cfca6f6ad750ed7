import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
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

class VerifyQuery {
  @ApiPropertyOptional({
    maxLength: 8192,
    description:
      'A signed checkpoint you kept from GET /v1/ledger/checkpoint, URL-encoded (`curl --data-urlencode checkpoint@file`): ' +
      'the answer then also says whether the log still extends it',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  checkpoint?: string;
}

class TreeHeadResponse {
  @ApiProperty({ minimum: 0, description: 'Tree size (leaves: ledger events)' }) size: number;
  @ApiProperty({ format: 'byte', description: 'RFC 9162 root hash, base64' }) root: string;
}

class DivergenceResponse {
  @ApiProperty({ minimum: 0, description: 'Leaf index (global ordinal − 1)' }) index: number;
  @ApiProperty({
    enum: ['changed', 'missing'],
    description: '`changed`: the event at this index now hashes otherwise; `missing`: the log ends before it',
  })
  reason: 'changed' | 'missing';
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The event there now (changed), or the one this instance recorded there (missing)',
  })
  eventId?: string;
  @ApiPropertyOptional({ example: 'site-site-1001' }) streamId?: string;
  @ApiPropertyOptional({ example: 3 }) version?: number;
}

class VerificationResponse {
  @ApiProperty({ description: "Every stream's chain holds, and the log extends the checkpoint if one was given" })
  ok: boolean;
  @ApiProperty({ description: 'Streams checked' }) streams: number;
  @ApiProperty({ description: 'Events checked' }) events: number;
  @ApiPropertyOptional({ description: 'Global position of the last event checked' }) lastPosition?: string;
  @ApiPropertyOptional({
    type: BrokenLinkResponse,
    description: 'The first event (global order) whose version, prevHash link or hash does not hold; absent when ok',
  })
  brokenAt?: BrokenLinkResponse;
  @ApiPropertyOptional({
    type: TreeHeadResponse,
    description: 'The checkpoint given (its signature and origin verified)',
  })
  checkpoint?: TreeHeadResponse;
  @ApiPropertyOptional({
    type: TreeHeadResponse,
    description: 'The tree recomputed from the store now (with a checkpoint)',
  })
  current?: TreeHeadResponse;
  @ApiPropertyOptional({
    description: "With a checkpoint: the log's first checkpoint.size events still have the checkpoint's root",
  })
  consistent?: boolean;
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', format: 'byte' },
    description:
      'With a checkpoint: RFC 9162 PROOF(checkpoint.size, current.size) of the recomputed tree; absent when the log is shorter than the checkpoint',
  })
  consistencyProof?: string[];
  @ApiPropertyOptional({
    type: DivergenceResponse,
    description:
      "When not consistent: the first leaf that differs from what this instance's tree recorded, or the first one missing; absent when it cannot tell",
  })
  divergesAt?: DivergenceResponse;
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
    summary: "Recompute every stream's SHA-256 hash chain from the store; with a checkpoint, prove the log extends it",
    description:
      'Reads the whole ledger once; concurrent requests share one pass. With `checkpoint`, the Merkle tree is ' +
      'recomputed from the stored events too (never from a read model): the answer is not ok when an event at or ' +
      'before the checkpoint was rewritten (even with recomputed hashes) or removed, the last one included.',
  })
  @ApiOkResponse({ type: VerificationResponse })
  @ApiProblems([
    400,
    'Bad input; a checkpoint that is malformed (`note.malformed`, `checkpoint.malformed`), of another origin ' +
      '(`checkpoint.wrong-origin`) or not signed by this log (`note.unsigned`, `note.signature-invalid`)',
  ])
  verify(@Query() query: VerifyQuery): Promise<VerificationReport> {
    return this.queries.execute(new VerifyLedgerQuery(query.checkpoint));
  }
}
