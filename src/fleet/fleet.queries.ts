import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { FleetProjection, type FleetFilter, type SiteSummary, type StatusCounts } from './fleet.projection.js';

export interface SitesPage {
  sites: SiteSummary[];
  nextCursor?: string;
  asOf?: string;
}

export interface FleetStats {
  asOf?: string;
  total: number;
  byStatus: StatusCounts;
}

const CURSOR_KIND = 'sites';

/** The fleet now or at `asOf` (UTC ISO), filtered, a page at a time in registration order. */
export class ListSitesQuery extends Query<SitesPage> {
  constructor(
    readonly filter: FleetFilter,
    readonly asOf: string | undefined,
    readonly limit: number,
    readonly cursor: string | undefined,
  ) {
    super();
  }
}

@QueryHandler(ListSitesQuery)
export class ListSitesHandler implements IQueryHandler<ListSitesQuery> {
  constructor(
    private readonly fleet: FleetProjection,
    private readonly readModels: ProjectionRunner,
  ) {}

  async execute({ filter, asOf, limit, cursor }: ListSitesQuery): Promise<SitesPage> {
    // The cursor carries the first page's snapshot: sites registered or
    // changed while a client pages are neither repeated nor skipped.
    const [afterSite, snapshot] =
      cursor === undefined ? [0, this.readModels.ordinal] : decodeCursor(CURSOR_KIND, cursor, 2);
    // One extra entry tells whether another page follows, without a count.
    const entries = this.fleet.page({
      ...filter,
      snapshot: snapshot!,
      atMs: asOf === undefined ? undefined : Date.parse(asOf),
      afterSite: afterSite!,
      limit: limit + 1,
    });
    const page = entries.slice(0, limit);
    const last = page.at(-1);
    return {
      sites: page.map((entry) => entry.site),
      ...(entries.length > limit && last
        ? { nextCursor: encodeCursor(CURSOR_KIND, [last.siteOrdinal, snapshot!]) }
        : {}),
      ...(asOf === undefined ? {} : { asOf }),
    };
  }
}

/** How many sites are (or were at `asOf`, UTC ISO) in each status. */
export class GetFleetStatsQuery extends Query<FleetStats> {
  constructor(readonly asOf: string | undefined) {
    super();
  }
}

@QueryHandler(GetFleetStatsQuery)
export class GetFleetStatsHandler implements IQueryHandler<GetFleetStatsQuery> {
  constructor(private readonly fleet: FleetProjection) {}

  async execute({ asOf }: GetFleetStatsQuery): Promise<FleetStats> {
    const byStatus = this.fleet.countByStatus(asOf === undefined ? undefined : Date.parse(asOf));
    const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
    return { ...(asOf === undefined ? {} : { asOf }), total, byStatus };
  }
}
