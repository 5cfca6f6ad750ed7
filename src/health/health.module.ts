import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { ResponseStreams } from '../http/response-stream.js';
import { LedgerMetrics } from '../observability/ledger-metrics.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { HealthController } from './health.controller.js';
import { LAG_COUNTED_UP_TO } from './health.dto.js';
import { MetricsController } from './metrics.controller.js';

/**
 * Operating the service (SPEC §9): `/health`, `/health/live`,
 * `/health/ready` without a token, `/metrics` with one. The read models'
 * and SSE gauges are read here at each scrape, from the runner and the open
 * response streams, so neither needs to know about metrics.
 */
@Module({ controllers: [HealthController, MetricsController] })
export class HealthModule implements OnModuleInit {
  constructor(
    @Inject(LedgerMetrics) private readonly metrics: LedgerMetrics,
    private readonly readModels: ProjectionRunner,
    private readonly responses: ResponseStreams,
  ) {}

  onModuleInit(): void {
    this.metrics.reportFrom({
      positions: () => this.readModels.names.map((readModel) => ({ readModel, position: this.readModels.ordinal })),
      lag: () => this.readModels.lag(LAG_COUNTED_UP_TO),
      sseSubscribers: () => this.responses.list().filter((stream) => stream.kind === 'event-stream').length,
    });
  }
}
