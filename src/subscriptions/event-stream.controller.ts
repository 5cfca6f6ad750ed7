import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../auth/roles.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { ApiProblems } from '../http/api-problems.js';
import { EventStreamQueryDto, POSITION_TEXT } from './event-stream.dto.js';
import { LiveEventStreams } from './live-event-streams.js';
import { ResponseStreams } from '../http/response-stream.js';
import { StreamEventsQuery } from './stream-events.query.js';

const LAST_EVENT_ID = 'Last-Event-ID';

@ApiTags('events')
@ApiBearerAuth()
@ApiProblems(
  [400, 'Bad input (from, Last-Event-ID, types, siteId, operationId or frames); `errors` names the field'],
  401,
  403,
  503,
)
@Controller('events')
export class EventStreamController {
  constructor(
    private readonly queries: QueryBus,
    private readonly live: LiveEventStreams,
    private readonly responses: ResponseStreams,
  ) {}

  @Get('stream')
  @Roles('viewer')
  @ApiOperation({
    summary: 'Every committed event, then each new one, as Server-Sent Events',
    description:
      'Global order, after `from` (a position, or `now`) or Last-Event-ID (from the first event if neither). ' +
      'types, siteId and operationId filter (combined with AND). Each frame: `id:` the global position, `event:` the ' +
      'type (left out with frames=unnamed, so an EventSource onmessage handler receives every event), `data:` the ' +
      'event view as JSON (contacts opened, or redacted after a purge). ' +
      'Idle streams get a `: heartbeat` comment. Events are read from the ledger only as fast as the client reads them.',
  })
  @ApiHeader({
    name: LAST_EVENT_ID,
    required: false,
    description: 'Resume after this position (EventSource sends it when reconnecting)',
  })
  @ApiOkResponse({
    description:
      'One frame per event: `id: <position>`, `event: <type>` (not with frames=unnamed), `data: <event view as JSON>`',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          example:
            'id: 1042\nevent: SiteSuspended\ndata: {"eventId":"…","type":"SiteSuspended","position":"1042",…}\n\n',
        },
      },
    },
  })
  async stream(
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    if (lastEventId !== undefined && !POSITION_TEXT.test(lastEventId)) {
      throw new DomainError('invalid', 'request.invalid', `invalid request: ${LAST_EVENT_ID}`, [
        {
          field: LAST_EVENT_ID,
          problem: 'invalid',
          detail: `${LAST_EVENT_ID} must be a position (an event id) this ledger issued`,
        },
      ]);
    }
    // A reconnecting EventSource repeats the original URL (and its `from`): the header is the later word.
    const after =
      lastEventId !== undefined
        ? { position: lastEventId, field: LAST_EVENT_ID }
        : query.from !== undefined
          ? { position: query.from, field: 'from' }
          : undefined;
    const filter = {
      types: query.types === undefined ? undefined : new Set(query.types.split(',')),
      siteId: query.siteId,
      operationId: query.operationId,
    };
    const out = this.responses.start('event-stream', response);
    const events = await this.queries.execute(new StreamEventsQuery(after, filter, out.signal));
    await this.live.serve(response, out, events, query.frames ?? 'named');
  }
}
