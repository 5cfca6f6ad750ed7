import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { EventView } from '../ledger/event.view.js';
import { SiteNotFoundError } from './domain/site.errors.js';
import { SiteStreams } from './site-streams.js';
import { toSiteView, type SiteView } from './site.view.js';

/** A site now, or as it was at a time (`asOf`) or a version. */
export class GetSiteQuery extends Query<SiteView & { asOf?: string }> {
  constructor(
    readonly siteId: string,
    readonly at: { asOf?: string; version?: number } = {},
  ) {
    super();
  }
}

@QueryHandler(GetSiteQuery)
export class GetSiteHandler implements IQueryHandler<GetSiteQuery> {
  constructor(private readonly streams: SiteStreams) {}

  async execute({ siteId, at }: GetSiteQuery): Promise<SiteView & { asOf?: string }> {
    const { state } = await this.streams.load(siteId, { toTime: at.asOf, toVersion: at.version });
    // Before its first event (or past the end for `version`), the site did not exist.
    if (state.status === 'unregistered' || (at.version !== undefined && state.version < at.version)) {
      throw new SiteNotFoundError(siteId);
    }
    const view = toSiteView(state);
    return at.asOf === undefined ? view : { ...view, asOf: at.asOf };
  }
}

export interface HistoryPage {
  events: EventView[];
  nextCursor?: string;
}

/** A site's events oldest first, a page at a time; the cursor is the last version seen. */
export class GetSiteHistoryQuery extends Query<HistoryPage> {
  constructor(
    readonly siteId: string,
    readonly afterVersion: number,
    readonly limit: number,
  ) {
    super();
  }
}

@QueryHandler(GetSiteHistoryQuery)
export class GetSiteHistoryHandler implements IQueryHandler<GetSiteHistoryQuery> {
  constructor(private readonly streams: SiteStreams) {}

  async execute({ siteId, afterVersion, limit }: GetSiteHistoryQuery): Promise<HistoryPage> {
    // One extra event tells whether another page follows, without a count query.
    const events = await this.streams.history(siteId, afterVersion, limit + 1);
    if (events.length === 0 && afterVersion === 0) throw new SiteNotFoundError(siteId);
    const page = events.slice(0, limit);
    const last = page.at(-1);
    return events.length > limit && last ? { events: page, nextCursor: String(last.version) } : { events: page };
  }
}
