import { Controller, Get, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../auth/roles.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { ApiProblems } from '../http/api-problems.js';
import { EventResponse } from '../http/common.dto.js';
import { timeMs } from '../http/validators.js';
import { ResponseStreams } from '../http/response-stream.js';
import { writeExport } from './audit-export.js';
import { AuditPageResponse, AuditQueryDto } from './audit.dto.js';
import type { AuditFilter } from './audit.projection.js';
import { ExportAuditEventsQuery, GetAuditEventsQuery, type AuditPage } from './audit.queries.js';

@ApiTags('audit')
@ApiBearerAuth()
@ApiProblems(401, 403, 503)
@Controller('audit')
export class AuditController {
  constructor(
    private readonly queries: QueryBus,
    private readonly responses: ResponseStreams,
  ) {}

  @Get('events')
  @Roles('viewer')
  @ApiOperation({
    summary: 'Who did what, when: every ledger event matching the filters, oldest first',
    description:
      'Filters combine (AND); type is a comma list (any of). from/to compare occurredAt, both inclusive. ' +
      'format=json answers a page {events, nextCursor}; format=ndjson and format=csv stream every match ' +
      '(after cursor, if given) at the pace the client reads. Contacts appear opened, or redacted after a purge.',
  })
  @ApiExtraModels(AuditPageResponse, EventResponse)
  @ApiOkResponse({
    description:
      'format=json: one page. format=ndjson: every match, one event (the schema shown) per line. format=csv: every match',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(AuditPageResponse) } },
      // OpenAPI 3.0 cannot say "a sequence of": this is the schema of each line.
      'application/x-ndjson': { schema: { $ref: getSchemaPath(EventResponse) } },
      'text/csv': {
        schema: {
          type: 'string',
          description:
            'A header row, then one row per event: position, eventId, occurredAt, type, streamId, version, actor, ' +
            'operationId, reason, ticket, correlationId, data and metadata (as JSON), prevHash, hash',
        },
      },
    },
  })
  @ApiProblems(400)
  async events(@Query() query: AuditQueryDto, @Res() response: Response): Promise<void> {
    const filter = auditFilter(query);
    const format = query.format ?? 'json';
    if (format === 'json') {
      const page: AuditPage = await this.queries.execute(
        new GetAuditEventsQuery(filter, query.limit ?? 100, query.cursor, query.data),
      );
      response.json(page);
      return;
    }
    if (query.limit !== undefined) {
      throw invalid('limit', `limit pages format=json; format=${format} streams every match`);
    }
    const events = await this.queries.execute(new ExportAuditEventsQuery(filter, query.cursor, query.data));
    await writeExport(response, this.responses.start('export', response), format, events);
  }
}

function auditFilter(query: AuditQueryDto): AuditFilter {
  const fromMs = query.from === undefined ? undefined : timeMs(query.from);
  const toMs = query.to === undefined ? undefined : timeMs(query.to);
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) throw invalid('to', 'to must not be before from');
  return {
    siteId: query.siteId,
    operationId: query.operationId,
    actor: query.actor,
    correlationId: query.correlationId,
    ticket: query.ticket,
    types: query.type === undefined ? undefined : [...new Set(query.type.split(','))],
    fromMs,
    toMs,
  };
}

function invalid(field: string, detail: string): DomainError {
  return new DomainError('invalid', 'request.invalid', `invalid request: ${field}`, [
    { field, problem: 'invalid', detail },
  ]);
}
