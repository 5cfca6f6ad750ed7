import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/* Request and response shapes every feature's controller shares. */

/** Why a change is made: recorded in the event's metadata for every later reader. */
export class ReasonDto {
  @ApiProperty({ example: 'customer asked by ticket SUP-123', minLength: 1, maxLength: 1000 })
  @IsString()
  @Length(1, 1000)
  reason: string;
}

/** An event as history, audit and the event stream show it (SPEC §5). */
export class EventResponse {
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'SiteRegistered' }) type: string;
  @ApiProperty({ example: 'site-site-1001' }) streamId: string;
  @ApiProperty() version: number;
  @ApiProperty({ description: 'Global position (opaque string)' }) position: string;
  @ApiProperty({ format: 'date-time' }) occurredAt: string;
  @ApiProperty() actor: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty() prevHash: string;
  @ApiProperty() hash: string;
}

/** Every error answer (RFC 9457 problem details), for the OpenAPI document. */
export class ProblemResponse {
  @ApiProperty({ example: 'urn:problem:tenant-ledger:site.legal-hold' }) type: string;
  @ApiProperty({ example: 'Conflict' }) title: string;
  @ApiProperty({ example: 409 }) status: number;
  @ApiProperty() detail: string;
  @ApiProperty({ example: 'site.legal-hold' }) code: string;
  @ApiPropertyOptional({
    type: 'array',
    items: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        field: { type: 'string' },
        problem: { type: 'string' },
        detail: { type: 'string' },
      },
    },
  })
  errors?: { id?: string; field?: string; problem: string; detail: string }[];
}
