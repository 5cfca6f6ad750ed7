import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { ID_PATTERN } from '../common/ids.js';
import { EVENT_TYPE_LIST, IsLedgerId } from '../http/validators.js';

/**
 * `named`: each frame has an `event:` line with the event's type, for
 * EventSource listeners by type (`addEventListener('SiteSuspended', …)`).
 * `unnamed`: no `event:` line, so a plain `onmessage` handler receives every
 * event (the type is in the data).
 */
export const FRAME_KINDS = ['named', 'unnamed'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

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

  @IsOptional()
  @IsLedgerId({
    required: false,
    example: 'site-1001',
    description: "Only this site's own events (its stream `site-<siteId>`), as the audit's siteId filter",
  })
  siteId?: string;

  @ApiPropertyOptional({
    example: 'op_0190c6f5-7a4e-7b2e-9d3c-1f2e3d4c5b6a',
    description:
      "Only this operation's events: its own stream, the site deletions it made and the restores that undo them " +
      "(as the audit's operationId filter). With `from` = the operation's lastPosition: what it does next",
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'operationId must be an operation id such as op_…' })
  operationId?: string;

  @ApiPropertyOptional({
    enum: FRAME_KINDS,
    default: 'named',
    description:
      'named: each frame has `event: <type>` (listen with addEventListener per type). unnamed: no `event:` line, ' +
      'so an EventSource `onmessage` handler receives every event; the type is in the data',
  })
  @IsOptional()
  @IsIn(FRAME_KINDS)
  frames?: FrameKind;
}
