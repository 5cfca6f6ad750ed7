import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { ID_PATTERN, ID_RULE } from '../common/ids.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const STATUSES = ['planned', 'approved', 'running', 'paused', 'completed', 'rejected', 'aborted', 'rolled-back'];

export class PlanOperationDto {
  @ApiProperty({
    example: 'soft-delete',
    description: 'The only action there is; anything else is a rejected plan (422)',
  })
  @IsString()
  @Length(1, 64)
  action: string;

  @ApiProperty({
    type: [String],
    example: ['site-1001', 'site-1002'],
    description: `Site IDs (${ID_RULE}). Every one is resolved; one problem rejects the whole plan`,
  })
  @IsArray()
  // Far above LEDGER_MAX_OPERATION_SITES, so too-many-targets is a recorded rejection (422), not a 400.
  @ArrayMaxSize(100_000)
  @IsString({ each: true })
  @Matches(ID_PATTERN, { each: true, message: `each of siteIds must be ${ID_RULE}` })
  siteIds: string[];

  @ApiProperty({ example: 'customers cancelled: churn batch 2026-11', minLength: 1, maxLength: 1000 })
  @IsString()
  @Length(1, 1000)
  reason: string;

  @ApiPropertyOptional({ example: 'OPS-4711', maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  ticket?: string;
}

export class DigestDto {
  @ApiProperty({ example: `sha256:${'0'.repeat(64)}`, description: "The plan's digest, as reviewed" })
  @Matches(DIGEST, { message: 'digest must be sha256: followed by 64 lowercase hex digits' })
  digest: string;
}

export class AbortDto {
  @ApiProperty({ minLength: 1, maxLength: 1000 })
  @IsString()
  @Length(1, 1000)
  reason: string;
}

export class RollbackDto extends AbortDto {
  @ApiPropertyOptional({ default: false, description: 'Only report what would be restored' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class OperationParams {
  @ApiProperty({ example: 'op_0f8e2c1a-…' })
  @Matches(/^op_[A-Za-z0-9-]{1,64}$/, { message: 'operationId must look like op_<id>' })
  operationId: string;
}

export class ListOperationsQueryDto {
  @ApiPropertyOptional({ enum: STATUSES })
  @IsOptional()
  @IsIn(STATUSES)
  status?: string;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,15}$/, { message: 'cursor must be a nextCursor returned by this endpoint' })
  cursor?: string;
}
