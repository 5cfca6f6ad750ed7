import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { EVENT_TYPE_LIST } from '../http/validators.js';

/** What a position looks like on the wire; whether this store issued it is checked by the store. */
export const POSITION_TEXT = /^[A-Za-z0-9:._-]{1,64}$/;

export class EventStreamQueryDto {
  @ApiPropertyOptional({
    example: '1042',
    description:
      'Start after this global position (an `id:` of an earlier frame), or `now`: only events committed from ' +
      'now on; omitted: from the first event. ' +
      'A Last-Event-ID header, sent by EventSource when it reconnects, takes precedence.',
  })
  @IsOptional()
  @IsString()
  @Matches(POSITION_TEXT, { message: 'from must be `now` or a position (an event id) this ledger issued' })
  from?: string;

  @ApiPropertyOptional({
    example: 'SiteSoftDeleted,SiteRestored,SitePurged',
    description: 'Only events of these types (comma list)',
  })
  @IsOptional()
  @IsString()
  @Matches(EVENT_TYPE_LIST, { message: 'types must be event type names separated by commas (at most 20)' })
  types?: string;
}
