import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { EventView } from '../ledger/event.view.js';
import { EventViewer } from '../ledger/event-viewer.js';
import { yieldToEventLoop } from '../http/response-stream.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import type { AuditDataForm } from './audit.dto.js';
import { AuditProjection, type AuditFilter } from './audit.projection.js';

export interface AuditPage {
  events: EventView[];
  nextCursor?: string;
}

const CURSOR_KIND = 'audit';
/** Events read from the index at a time by an export. */
const EXPORT_PAGE = 500;

const afterCursor = (cursor: string | undefined): number =>
  cursor === undefined ? 0 : decodeCursor(CURSOR_KIND, cursor, 1)[0]!;

/** One page of matching events, oldest first. */
export class GetAuditEventsQuery extends Query<AuditPage> {
  constructor(
    readonly filter: AuditFilter,
    readonly limit: number,
    readonly cursor: string | undefined,
    readonly data: AuditDataForm = 'opened',
  ) {
    super();
  }
}

@QueryHandler(GetAuditEventsQuery)
export class GetAuditEventsHandler implements IQueryHandler<GetAuditEventsQuery> {
  constructor(
    private readonly audit: AuditProjection,
    private readonly viewer: EventViewer,
  ) {}

  async execute({ filter, limit, cursor, data }: GetAuditEventsQuery): Promise<AuditPage> {
    const entries = this.audit.page({ ...filter, after: afterCursor(cursor), limit: limit + 1 });
    const page = entries.slice(0, limit);
    const session = this.viewer.session({ stored: data === 'stored' });
    const events: EventView[] = [];
    for (const entry of page) events.push(await session.view(entry.event));
    const last = page.at(-1);
    return entries.length > limit && last
      ? { events, nextCursor: encodeCursor(CURSOR_KIND, [last.ordinal]) }
      : { events };
  }
}

/**
 * Every matching event, oldest first, read page by page as the consumer
 * pulls: nothing is read ahead of what the client takes. The export covers
 * the events indexed when it began, so a busy ledger cannot keep it going.
 */
export class ExportAuditEventsQuery extends Query<AsyncIterable<EventView>> {
  constructor(
    readonly filter: AuditFilter,
    readonly cursor: string | undefined,
    readonly data: AuditDataForm = 'opened',
  ) {
    super();
  }
}

@QueryHandler(ExportAuditEventsQuery)
export class ExportAuditEventsHandler implements IQueryHandler<ExportAuditEventsQuery> {
  constructor(
    private readonly audit: AuditProjection,
    private readonly viewer: EventViewer,
  ) {}

  async execute({ filter, cursor, data }: ExportAuditEventsQuery): Promise<AsyncIterable<EventView>> {
    // Checked now, so a bad cursor is a 400 before the response starts.
    const after = afterCursor(cursor);
    const until = this.audit.lastOrdinal();
    return this.pages(filter, after, until, data);
  }

  private async *pages(
    filter: AuditFilter,
    after: number,
    until: number,
    data: AuditDataForm,
  ): AsyncGenerator<EventView> {
    for (;;) {
      const entries = this.audit.page({ ...filter, after, until, limit: EXPORT_PAGE });
      // A fresh session per page: keys are looked up at most once a page, and a purge shows from the next page on.
      const session = this.viewer.session({ stored: data === 'stored' });
      for (const entry of entries) yield await session.view(entry.event);
      const last = entries.at(-1);
      if (last === undefined || entries.length < EXPORT_PAGE) return;
      after = last.ordinal;
      await yieldToEventLoop();
    }
  }
}
