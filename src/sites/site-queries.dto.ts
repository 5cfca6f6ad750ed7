import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Min } from 'class-validator';
import { IsIsoTime, IsLedgerId, IsPageLimit } from '../http/validators.js';

export class SiteParams {
  @IsLedgerId()
  siteId: string;
}

export class ProductParams extends SiteParams {
  @IsLedgerId()
  installationId: string;
}

export class SiteAtQuery {
  @ApiPropertyOptional({ example: '2026-11-21T07:37:00Z', description: 'The state at this moment' })
  @IsOptional()
  @IsIsoTime()
  asOf?: string;

  @ApiPropertyOptional({ example: 3, minimum: 1, description: 'The state after this many events' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;
}

export class HistoryQuery {
  @IsPageLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,15}$/, { message: 'cursor must be a nextCursor returned by this endpoint' })
  cursor?: string;
}
