import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString } from 'class-validator';
import { IsIsoTime, IsLedgerId, IsPageLimit } from '../http/validators.js';
import { SiteResponse } from '../sites/site-responses.dto.js';
import type { SiteStatus } from '../sites/domain/site.events.js';
import { SITE_STATUSES } from './fleet.projection.js';

export class ListSitesQueryDto {
  @ApiPropertyOptional({ enum: SITE_STATUSES, description: 'Only sites in this status (at `asOf`, if given)' })
  @IsOptional()
  @IsIn(SITE_STATUSES)
  status?: SiteStatus;

  @IsOptional()
  @IsLedgerId({ required: false, example: 'cust-77', description: 'Only sites of this customer' })
  customerId?: string;

  @ApiPropertyOptional({
    type: Boolean,
    description: "Only the provider's own sites (true) or only customer sites (false)",
  })
  @IsOptional()
  // Query strings are text: only the words true and false mean a boolean.
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  internal?: boolean;

  @ApiPropertyOptional({ example: '2026-11-21T07:37:00Z', description: 'The fleet as it was at this moment' })
  @IsOptional()
  @IsIsoTime()
  asOf?: string;

  @IsPageLimit()
  limit?: number;

  @ApiPropertyOptional({
    description:
      'nextCursor of the previous page. Pages after the first show the same snapshot as the first; repeat the same filters and asOf.',
  })
  @IsOptional()
  @IsString()
  cursor?: string;
}

export class StatsQueryDto {
  @ApiPropertyOptional({ example: '2026-11-21T07:37:00Z', description: 'Counts as they were at this moment' })
  @IsOptional()
  @IsIsoTime()
  asOf?: string;
}

/* Response shapes, for the OpenAPI document only. */

export class SiteSummaryResponse extends OmitType(SiteResponse, ['contacts', 'asOf'] as const) {}

export class SitesPageResponse {
  @ApiProperty({
    type: [SiteSummaryResponse],
    description:
      'Oldest registration first. Without contacts: they are personal data, shown only by GET /v1/sites/{siteId}',
  })
  sites: SiteSummaryResponse[];

  @ApiPropertyOptional({ description: 'Absent on the last page' })
  nextCursor?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Present when asked with ?asOf' })
  asOf?: string;
}

export class StatusCountsResponse {
  @ApiProperty() active: number;
  @ApiProperty() suspended: number;
  @ApiProperty() deleted: number;
  @ApiProperty() purged: number;
}

export class StatsResponse {
  @ApiPropertyOptional({ format: 'date-time', description: 'Present when asked with ?asOf' })
  asOf?: string;

  @ApiProperty({ description: 'Sites registered (at asOf), whatever their status' })
  total: number;

  @ApiProperty({ type: StatusCountsResponse })
  byStatus: StatusCountsResponse;
}
