import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Public, Roles } from '../auth/roles.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { ProblemResponse, ReasonDto } from '../http/common.dto.js';
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
import { HistoryResponse, SiteResponse } from './site-responses.dto.js';
import { ExecuteSiteCommand, type SiteCommandInput } from './site-command.handler.js';
import { RevertSiteCommand, type RevertResult } from './site-revert.handler.js';
import { GetSiteHistoryQuery, GetSiteQuery, type HistoryPage } from './site.queries.js';
import { toSiteView, type SiteView } from './site.view.js';
import { IdempotentWrites } from '../http/idempotent-writes.decorator.js';

const IF_MATCH = ApiHeader({
  name: 'If-Match',
  required: false,
  description: 'The version (ETag) the change is based on; 412 if the site has moved on',
});

@IdempotentWrites()
@ApiTags('sites')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: 'Bad input; `errors` names each field', type: ProblemResponse })
@ApiResponse({ status: 401, description: 'No valid bearer token', type: ProblemResponse })
@ApiResponse({ status: 403, description: 'The token lacks the role', type: ProblemResponse })
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
  @ApiConflictResponse({ description: 'The site exists', type: ProblemResponse })
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
  @ApiNotFoundResponse({ description: 'No such site (at that moment)', type: ProblemResponse })
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
  history(@Param() { siteId }: SiteParams, @Query() query: HistoryQuery): Promise<HistoryPage> {
    return this.queries.execute(
      new GetSiteHistoryQuery(siteId, query.cursor === undefined ? 0 : Number(query.cursor), query.limit ?? 100),
    );
  }

  @Post(':siteId/products')
  @HttpCode(200)
  @Roles('operator')
  @IF_MATCH
  @ApiOperation({ summary: 'Add a product installation' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Remove a product installation' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Replace the key contacts (stored encrypted)' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Suspend an active site' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Reactivate a suspended site' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Enable (operator) or disable (admin) deletion protection' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Place a legal hold (admin): the site can be neither deleted nor purged' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Release the legal hold (admin)' })
  @ApiOkResponse({ type: SiteResponse })
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
  @IF_MATCH
  @ApiOperation({ summary: 'Undo the soft delete (a SiteRestored compensating event); 409 if not deleted or purged' })
  @ApiOkResponse({ type: SiteResponse })
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
  @ApiOkResponse({ description: '{dryRun, events, site}' })
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

  @Delete(':siteId')
  @Public()
  @ApiOperation({ summary: 'Not allowed: sites are deleted only by reviewed operations (POST /v1/operations)' })
  @ApiResponse({ status: 405, type: ProblemResponse })
  refuseDelete(): never {
    // Always 405, whatever the ID: the answer must not depend on the site or its form.
    throw new DomainError(
      'method-not-allowed',
      'site.delete-not-allowed',
      'sites are never deleted directly: plan a reviewed soft-delete with POST /v1/operations',
      undefined,
      { allow: 'GET' },
    );
  }

  /** Every command goes through the CommandBus and answers the new state. */
  private async run(input: SiteCommandInput, context: RequestContext, ifMatch?: number): Promise<SiteView> {
    const { site } = await this.commands.execute(new ExecuteSiteCommand(input, context, ifMatch));
    return toSiteView(site);
  }
}
