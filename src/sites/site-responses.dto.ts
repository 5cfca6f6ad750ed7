import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  getSchemaPath,
  type ApiPropertyOptions,
} from '@nestjs/swagger';
import { EventResponse } from '../http/common.dto.js';
import { ContactDto, ProductDto } from './site-commands.dto.js';

/* Response shapes, for the OpenAPI document only. */

/**
 * The legal hold, or null. Inline rather than a `$ref`: OpenAPI 3.0 reads
 * `nullable` only beside a `type` in the same schema, so `nullable` next to
 * a `$ref` (or `allOf`) would not admit null to validators.
 */
const LEGAL_HOLD: ApiPropertyOptions = {
  type: 'object',
  nullable: true,
  description: 'Set while a legal hold is placed; null otherwise',
  required: ['reason', 'reference', 'placedBy', 'placedAt'],
  properties: {
    reason: { type: 'string' },
    reference: { type: 'string' },
    placedBy: { type: 'string' },
    placedAt: { type: 'string', format: 'date-time' },
  },
};

/** A contact after its site was purged: the key that opened it is gone. */
export class RedactedContactResponse {
  @ApiProperty({ enum: [true] }) redacted: true;
}

@ApiExtraModels(ContactDto, RedactedContactResponse)
export class SiteResponse {
  @ApiProperty() siteId: string;
  @ApiProperty() customerId: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: String, nullable: true }) region: string | null;
  @ApiProperty() internal: boolean;
  @ApiProperty({ enum: ['active', 'suspended', 'deleted', 'purged'] }) status: string;
  @ApiProperty({ type: [ProductDto] }) products: ProductDto[];
  @ApiProperty({
    type: 'array',
    items: { oneOf: [{ $ref: getSchemaPath(ContactDto) }, { $ref: getSchemaPath(RedactedContactResponse) }] },
    description: 'After a purge each contact reads as {"redacted": true}',
  })
  contacts: (ContactDto | RedactedContactResponse)[];
  @ApiProperty() deletionProtection: boolean;
  @ApiProperty(LEGAL_HOLD) legalHold: { reason: string; reference: string; placedBy: string; placedAt: string } | null;
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

/** A domain event as a revert records it (or, with dryRun, would). */
export class RevertEventResponse {
  @ApiProperty({ example: 'SiteReactivated' }) type: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
}

export class RevertResponse {
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ type: [RevertEventResponse], description: 'The compensating events, oldest first' })
  events: RevertEventResponse[];
  @ApiProperty({ type: SiteResponse, description: 'The state after them' }) site: SiteResponse;
}
