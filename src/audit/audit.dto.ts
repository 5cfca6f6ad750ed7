import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { PRINCIPAL_ID_PATTERN } from '../auth/principal.js';
import { ID_PATTERN } from '../common/ids.js';
import { EVENT_TYPE_LIST, IsIsoTime, IsLedgerId, IsPageLimit } from '../http/validators.js';
import { EventResponse } from '../http/common.dto.js';
import { CORRELATION_PATTERN } from '../http/request-context.decorator.js';

export const AUDIT_FORMATS = ['json', 'ndjson', 'csv'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

/** opened: as history shows events. stored: as they are hashed, for checking chains and proofs offline. */
export const AUDIT_DATA_FORMS = ['opened', 'stored'] as const;
export type AuditDataForm = (typeof AUDIT_DATA_FORMS)[number];

export class AuditQueryDto {
  @IsOptional()
  @IsLedgerId({ required: false, example: 'site-1001', description: "Only this site's own events (its stream)" })
  siteId?: string;

  @ApiPropertyOptional({
    example: 'op_0190c6f5-7a4e-7b2e-9d3c-1f2e3d4c5b6a',
    description: "Only this operation's events and the site events it caused (deletions, and restores that undo them)",
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'operationId must be an operation id such as op_…' })
  operationId?: string;

  @ApiPropertyOptional({
    example: 'operator',
    description: 'Only events recorded for this principal (or system:<job>)',
  })
  @IsOptional()
  @IsString()
  @Matches(PRINCIPAL_ID_PATTERN, {
    message: 'actor must be a principal id (1–64 characters of A–Z, a–z, 0–9, ".", "_", ":", "-")',
  })
  actor?: string;

  @ApiPropertyOptional({
    example: 'INC-7-cleanup',
    pattern: CORRELATION_PATTERN.source,
    maxLength: 128,
    description:
      'Only events caused by requests with this correlation id (metadata.correlationId: the X-Correlation-Id a ' +
      "client sent, else one the service chose; a wave's events carry its operation's id), exact match",
  })
  @IsOptional()
  @IsString()
  @Matches(CORRELATION_PATTERN, {
    message: 'correlationId must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":", "-"',
  })
  correlationId?: string;

  @ApiPropertyOptional({
    example: 'OPS-4711',
    minLength: 1,
    maxLength: 200,
    description: "Only events recorded with this ticket (metadata.ticket: an operation's ticket), exact match",
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  ticket?: string;

  @ApiPropertyOptional({
    example: 'SiteSoftDeleted,SiteRestored',
    description: 'Only events of these types (comma list, up to 20)',
  })
  @IsOptional()
  @IsString()
  @Matches(EVENT_TYPE_LIST, { message: 'type must be event type names separated by commas (at most 20)' })
  type?: string;

  @ApiPropertyOptional({
    example: '2026-11-21T07:00:00Z',
    description: 'Only events that occurred at or after this moment',
  })
  @IsOptional()
  @IsIsoTime()
  from?: string;

  @ApiPropertyOptional({
    example: '2026-11-21T08:00:00Z',
    description: 'Only events that occurred at or before this moment',
  })
  @IsOptional()
  @IsIsoTime()
  to?: string;

  @IsPageLimit('Page size (format=json only)')
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (also: where an export resumes)' })
  @IsOptional()
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({
    enum: AUDIT_FORMATS,
    default: 'json',
    description:
      'json: one page. ndjson (one event view per line) or csv (a header row, data and metadata as JSON columns): every match, streamed',
  })
  @IsOptional()
  @IsIn(AUDIT_FORMATS)
  format?: AuditFormat;

  @ApiPropertyOptional({
    enum: AUDIT_DATA_FORMS,
    default: 'opened',
    description:
      'opened: `data` as history shows it (contacts opened, or {"redacted": true} once the site was purged). ' +
      'stored: `data` exactly as stored and hashed (contacts sealed, before and after a purge), so anyone can ' +
      "recompute each event's chain hash and Merkle leaf offline",
  })
  @IsOptional()
  @IsIn(AUDIT_DATA_FORMS)
  data?: AuditDataForm;
}

/* Response shapes, for the OpenAPI document only. */

export class AuditPageResponse {
  @ApiProperty({
    type: [EventResponse],
    description: 'Oldest first (global order); contacts opened, or {"redacted": true} once the site was purged',
  })
  events: EventResponse[];

  @ApiPropertyOptional({ description: 'Absent on the last page' })
  nextCursor?: string;
}
