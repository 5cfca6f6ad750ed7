import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator.js';
import { toUtcIso } from '../http/validators.js';
import { ApiProblems } from '../http/api-problems.js';
import { ListSitesQueryDto, SitesPageResponse, StatsQueryDto, StatsResponse } from './fleet.dto.js';
import { GetFleetStatsQuery, ListSitesQuery, type FleetStats, type SitesPage } from './fleet.queries.js';

@ApiTags('fleet')
@ApiBearerAuth()
@ApiProblems(400, 401, 403, 503)
@Controller()
export class FleetController {
  constructor(private readonly queries: QueryBus) {}

  @Get('sites')
  @Roles('viewer')
  @ApiOperation({
    summary: 'The fleet now or at a moment (asOf), filtered and paged',
    description:
      'Sites in registration order, each as GET /v1/sites/{siteId} shows it (at asOf) but without contacts: ' +
      'contacts are personal data and only the single-site read shows them. Answered from the fleet read model; ' +
      'nextCursor pins the snapshot of the first page, so paging never repeats or skips a site.',
  })
  @ApiOkResponse({ type: SitesPageResponse })
  list(@Query() query: ListSitesQueryDto): Promise<SitesPage> {
    const asOf = query.asOf === undefined ? undefined : toUtcIso(query.asOf);
    const filter = { status: query.status, customerId: query.customerId, internal: query.internal };
    return this.queries.execute(new ListSitesQuery(filter, asOf, query.limit ?? 100, query.cursor));
  }

  @Get('stats')
  @Roles('viewer')
  @ApiOperation({ summary: 'How many sites are (or were at asOf) in each status' })
  @ApiOkResponse({ type: StatsResponse })
  stats(@Query() query: StatsQueryDto): Promise<FleetStats> {
    return this.queries.execute(new GetFleetStatsQuery(query.asOf === undefined ? undefined : toUtcIso(query.asOf)));
  }
}
