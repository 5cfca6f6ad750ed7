import { Controller, Get, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../auth/roles.decorator.js';
import { ApiProblems } from '../http/api-problems.js';
import { LedgerMetrics } from '../observability/ledger-metrics.js';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** Prometheus scrapes `/metrics` with a bearer token (any role). */
@ApiTags('health')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: LedgerMetrics) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({
    summary: 'Figures for Prometheus, in its text format (any token)',
    description:
      'tenant_ledger_commands_total{type,outcome}, tenant_ledger_http_request_duration_seconds{method,route,status}, ' +
      'tenant_ledger_tampered_refusals_total{route}, tenant_ledger_read_model_position{read_model}, tenant_ledger_read_model_lag{read_model}, ' +
      'tenant_ledger_waves_total{kind}, tenant_ledger_wave_duration_seconds, tenant_ledger_sites_deleted_total, ' +
      'tenant_ledger_sites_restored_total, tenant_ledger_purges_total, tenant_ledger_sse_subscribers, ' +
      "and the process's own (process_*, nodejs_*).",
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: `Every metric in the Prometheus text exposition format 0.0.4 (Content-Type: ${PROMETHEUS_TEXT})`,
    content: {
      'text/plain': {
        schema: {
          type: 'string',
          example:
            '# TYPE tenant_ledger_commands_total counter\ntenant_ledger_commands_total{type="RegisterSite",outcome="ok"} 3\n',
        },
      },
    },
  })
  @ApiProblems(401, 403)
  async scrape(@Res() response: Response): Promise<void> {
    const text = await this.metrics.text();
    response.status(200).type(this.metrics.contentType).send(text);
  }
}
