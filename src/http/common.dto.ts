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

/** One of several things wrong with a request (`errors[]` of a problem). */
export class ProblemItem {
  @ApiPropertyOptional({ description: 'The item the problem is about, such as a site ID of a plan' }) id?: string;
  @ApiPropertyOptional({ example: 'contacts[0].email', description: 'The field, as a path into the request' })
  field?: string;
  @ApiProperty({ example: 'invalid', description: 'A stable word: missing, invalid, unknown-field, conflicting, …' })
  problem: string;
  @ApiProperty() detail: string;
}

/**
 * Every error answer: an RFC 9457 problem document, sent as
 * `application/problem+json` (problem-details.filter.ts). Extension members
 * such as `operationId` (a recorded rejection) or `allow` (405) may follow.
 */
export class ProblemDetails {
  @ApiProperty({ example: 'urn:problem:tenant-ledger:site.legal-hold' }) type: string;
  @ApiProperty({ example: 'Conflict' }) title: string;
  @ApiProperty({ type: 'integer', example: 409 }) status: number;
  @ApiProperty() detail: string;
  @ApiProperty({ example: 'site.legal-hold', description: 'Stable: clients branch on it' }) code: string;
  @ApiPropertyOptional({ example: '/v1/sites/site-1001/suspend', description: 'The request path' }) instance?: string;
  @ApiPropertyOptional({
    type: [ProblemItem],
    description: 'Every field or item that is wrong, when there are several',
  })
  errors?: ProblemItem[];
}
