import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EventResponse } from '../http/common.dto.js';
import { ContactDto, ProductDto } from './site-commands.dto.js';

/* Response shapes, for the OpenAPI document only. */

export class LegalHoldResponse {
  @ApiProperty() reason: string;
  @ApiProperty() reference: string;
  @ApiProperty() placedBy: string;
  @ApiProperty({ format: 'date-time' }) placedAt: string;
}

export class SiteResponse {
  @ApiProperty() siteId: string;
  @ApiProperty() customerId: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: String, nullable: true }) region: string | null;
  @ApiProperty() internal: boolean;
  @ApiProperty({ enum: ['active', 'suspended', 'deleted', 'purged'] }) status: string;
  @ApiProperty({ type: [ProductDto] }) products: ProductDto[];
  @ApiProperty({
    type: [ContactDto],
    description: 'After a purge each contact reads as {"redacted": true}',
  })
  contacts: ContactDto[];
  @ApiProperty() deletionProtection: boolean;
  @ApiProperty({ type: LegalHoldResponse, nullable: true }) legalHold: LegalHoldResponse | null;
  @ApiProperty({ example: 'P30D' }) retention: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deletedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) purgeAfter: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) purgedAt: string | null;
  @ApiProperty({ description: 'Stream version; also the ETag' }) version: number;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'Present when asked with ?asOf' }) asOf?: string;
}

export class HistoryResponse {
  @ApiProperty({ type: [EventResponse] }) events: EventResponse[];
  @ApiPropertyOptional({ description: 'Absent on the last page' }) nextCursor?: string;
}
