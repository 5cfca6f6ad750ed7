import { Controller, Delete } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/roles.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { ApiProblems } from '../http/api-problems.js';

/**
 * DELETE /v1/sites/{siteId}: always 405, for anyone, whatever the ID. A
 * controller of its own because it shares nothing with SitesController's
 * routes: no token, no store, no 2XX answer.
 */
@ApiTags('sites')
@Controller('sites')
export class SiteDeleteRefusalController {
  @Delete(':siteId')
  @Public()
  @ApiOperation({
    summary: 'Not allowed: sites are deleted only by reviewed operations (POST /v1/operations)',
    security: [],
  })
  @ApiParam({ name: 'siteId', type: String, description: 'Any value: the answer does not depend on it' })
  @ApiProblems([405, 'Always: plan a reviewed soft delete with POST /v1/operations instead; `Allow: GET`'])
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
}
