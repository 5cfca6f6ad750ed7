import { applyDecorators, Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../auth/roles.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { ApiProblems } from '../http/api-problems.js';
import { ReasonDto } from '../http/common.dto.js';
import { IfMatch } from '../http/etag.js';
import { RequestCtx } from '../http/request-context.decorator.js';
import { toUtcIso } from '../http/validators.js';
import type { RequestContext } from '../ledger/request-context.js';
import {
  AddProductDto,
  DeletionProtectionDto,
  PlaceLegalHoldDto,
  RegisterSiteDto,
  RevertSiteDto,
  UpdateContactsDto,
} from './site-commands.dto.js';
import { HistoryQuery, ProductParams, SiteAtQuery, SiteParams } from './site-queries.dto.js';
import { HistoryResponse, RevertResponse, SiteResponse } from './site-responses.dto.js';
import { ExecuteSiteCommand, type SiteCommandInput } from './site-command.handler.js';
import { RevertSiteCommand, type RevertResult } from './site-revert.handler.js';
import { GetSiteHistoryQuery, GetSiteQuery, type HistoryPage } from './site.queries.js';
import { toSiteView, type SiteView } from './site.view.js';
import { IdempotentWrites } from '../http/idempotent-writes.decorator.js';

/** A command on one site: conditional on If-Match, answered with the new state. */
const SITE_COMMAND = applyDecorators(
  ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'The version (ETag) the change is based on; 412 if the site has moved on',
  }),
  ApiOkResponse({ type: SiteResponse }),
  ApiProblems(400, [404, 'No such site'], [409, "The site's state or rules forbid it; `code` says which"], 412, 413),
);

@IdempotentWrites()
@ApiTags('sites')
@ApiBearerAuth()
@ApiProblems(401, 403, 500, 503)
@Controller('sites')
export class SitesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('operator')
  @ApiOperation({ summary: 'Register a site' })
  @ApiCreatedResponse({ type: SiteResponse })
  @ApiProblems(400, [409, 'The site exists (or its ID was used before)'], 413)
  async register(
    @Body() body: RegisterSiteDto,
    @RequestCtx() context: RequestContext,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SiteView> {
    const site = await this.run(
      {
        type: 'RegisterSite',
        data: {
          siteId: body.siteId,
          customerId: body.customerId,
          name: body.name,
          region: body.region,
          internal: body.internal,
          products: body.products?.map(({ installationId, productKey }) => ({ installationId, productKey })),
          contacts: body.contacts?.map(({ name, email, role }) => ({ name, email, role })),
          retention: body.retention,
        },
      },
      context,
    );
    response.location(`/v1/sites/${encodeURIComponent(site.siteId)}`);
    return site;
  }

  @Get(':siteId')
  @Roles('viewer')
  @ApiOperation({ summary: 'A site now, or at a moment (asOf) or version' })
  @ApiOkResponse({ type: SiteResponse })
  @ApiProblems(400, [404, 'No such site (at that moment)'])
  get(@Param() { siteId }: SiteParams, @Query() query: SiteAtQuery): Promise<SiteView> {
    if (query.asOf !== undefined && query.version !== undefined) {
      throw new DomainError('invalid', 'request.invalid', 'give asOf or version, not both', [
        { field: 'version', problem: 'conflicting', detail: 'asOf and version cannot be combined' },
      ]);
    }
    const asOf = query.asOf === undefined ? undefined : toUtcIso(query.asOf);
    return this.queries.execute(new GetSiteQuery(siteId, { asOf, version: query.version }));
  }

  @Get(':siteId/history')
  @Roles('viewer')
  @ApiOperation({ summary: "A site's events, oldest first" })
  @ApiOkResponse({ type: HistoryResponse })
  @ApiProblems(400, [404, 'No such site'])
  history(@Param() { siteId }: SiteParams, @Query() query: HistoryQuery): Promise<HistoryPage> {
    return this.queries.execute(
      new GetSiteHistoryQuery(siteId, query.cursor === undefined ? 0 : Number(query.cursor), query.limit ?? 100),
    );
  }

  @Post(':siteId/products')
  @HttpCode(200)
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Add a product installation' })
  addProduct(
    @Param() { siteId }: SiteParams,
    @Body() { installationId, productKey }: AddProductDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'AddSiteProduct', data: { siteId, installationId, productKey } }, context, ifMatch);
  }

  @Delete(':siteId/products/:installationId')
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Remove a product installation' })
  removeProduct(
    @Param() { siteId, installationId }: ProductParams,
    @Body() { reason }: ReasonDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'RemoveSiteProduct', data: { siteId, installationId } }, { ...context, reason }, ifMatch);
  }

  @Put(':siteId/contacts')
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Replace the key contacts (stored encrypted)' })
  updateContacts(
    @Param() { siteId }: SiteParams,
    @Body() body: UpdateContactsDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    const contacts = body.contacts.map(({ name, email, role }) => ({ name, email, role }));
    return this.run({ type: 'UpdateSiteContacts', data: { siteId, contacts } }, context, ifMatch);
  }

  @Post(':siteId/suspend')
  @HttpCode(200)
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Suspend an active site' })
  suspend(
    @Param() { siteId }: SiteParams,
    @Body() { reason }: ReasonDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'SuspendSite', data: { siteId } }, { ...context, reason }, ifMatch);
  }

  @Post(':siteId/reactivate')
  @HttpCode(200)
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Reactivate a suspended site' })
  reactivate(
    @Param() { siteId }: SiteParams,
    @Body() { reason }: ReasonDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'ReactivateSite', data: { siteId } }, { ...context, reason }, ifMatch);
  }

  @Put(':siteId/deletion-protection')
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Enable (operator) or disable (admin) deletion protection' })
  setDeletionProtection(
    @Param() { siteId }: SiteParams,
    @Body() { enabled, reason }: DeletionProtectionDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    const type = enabled ? 'EnableDeletionProtection' : 'DisableDeletionProtection';
    return this.run({ type, data: { siteId } }, { ...context, reason }, ifMatch);
  }

  @Put(':siteId/legal-hold')
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Place a legal hold (admin): the site can be neither deleted nor purged' })
  placeLegalHold(
    @Param() { siteId }: SiteParams,
    @Body() { reason, reference }: PlaceLegalHoldDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'PlaceLegalHold', data: { siteId, reason, reference } }, { ...context, reason }, ifMatch);
  }

  @Delete(':siteId/legal-hold')
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Release the legal hold (admin)' })
  releaseLegalHold(
    @Param() { siteId }: SiteParams,
    @Body() { reason }: ReasonDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'ReleaseLegalHold', data: { siteId } }, { ...context, reason }, ifMatch);
  }

  @Post(':siteId/restore')
  @HttpCode(200)
  @Roles('operator')
  @SITE_COMMAND
  @ApiOperation({ summary: 'Undo the soft delete (a SiteRestored compensating event); 409 if not deleted or purged' })
  restore(
    @Param() { siteId }: SiteParams,
    @Body() { reason }: ReasonDto,
    @RequestCtx() context: RequestContext,
    @IfMatch() ifMatch?: number,
  ): Promise<SiteView> {
    return this.run({ type: 'RestoreSite', data: { siteId } }, { ...context, reason }, ifMatch);
  }

  @Post(':siteId/revert')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Bring the site back to its state at a time or version with compensating events; never deletes (409 site.revert-would-delete)',
  })
  @ApiOkResponse({ type: RevertResponse })
  @ApiProblems(
    400,
    [404, 'No such site'],
    [409, 'Nothing to revert to, or the revert would delete; `code` says which'],
    413,
  )
  revert(
    @Param() { siteId }: SiteParams,
    @Body() body: RevertSiteDto,
    @RequestCtx() context: RequestContext,
  ): Promise<RevertResult> {
    const to = typeof body.to === 'number' ? { version: body.to } : { asOf: toUtcIso(body.to) };
    return this.commands.execute(
      new RevertSiteCommand(siteId, to, body.dryRun ?? false, { ...context, reason: body.reason }),
    );
  }

  /** Every command goes through the CommandBus and answers the new state. */
  private async run(input: SiteCommandInput, context: RequestContext, ifMatch?: number): Promise<SiteView> {
    const { site } = await this.commands.execute(new ExecuteSiteCommand(input, context, ifMatch));
    return toSiteView(site);
  }
}
