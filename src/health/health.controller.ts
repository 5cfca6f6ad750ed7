import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/roles.decorator.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { HealthResponse, LAG_COUNTED_UP_TO, LivenessResponse, ReadinessResponse } from './health.dto.js';
import { notReadyBecause } from './readiness.js';

/** For probes and people: no token needed (SPEC §9). */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly readModels: ProjectionRunner,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The store and the read models at a glance (no token needed)', security: [] })
  @ApiOkResponse({ description: 'The store answers', type: HealthResponse })
  @ApiServiceUnavailableResponse({ description: 'The store does not answer', type: HealthResponse })
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthResponse> {
    const lag = await this.lag(LAG_COUNTED_UP_TO);
    const readModels = this.readModels.state;
    if (lag === undefined) {
      response.status(503);
      return { status: 'unavailable', store: this.config.store, readModels };
    }
    return { status: 'ok', store: this.config.store, readModels, readModelLag: lag };
  }

  @Get('live')
  @ApiOperation({
    summary: 'Liveness: 200 while the process serves HTTP (no token needed)',
    description: 'Says nothing about the store or the read models: restarting would not mend them. See /health/ready.',
    security: [],
  })
  @ApiOkResponse({ description: 'The process serves', type: LivenessResponse })
  live(): LivenessResponse {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: 200 when this instance can serve current reads (no token needed)',
    description:
      'Ready when the store answers and the read models are live and at most LEDGER_READY_MAX_LAG ledger events ' +
      'behind it; otherwise 503 with the reason.',
    security: [],
  })
  @ApiOkResponse({ description: 'Ready', type: ReadinessResponse })
  @ApiServiceUnavailableResponse({ description: 'Not ready; `reason` says why', type: ReadinessResponse })
  async ready(@Res({ passthrough: true }) response: Response): Promise<ReadinessResponse> {
    const maxLag = this.config.readyMaxLag;
    // One more than allowed is enough to tell; the answer shows the count up to the usual bound.
    const lag = await this.lag(Math.max(maxLag + 1, LAG_COUNTED_UP_TO));
    const readModels = this.readModels.state;
    const reason = notReadyBecause({ storeAnswers: lag !== undefined, readModels, lag, maxLag });
    const shown = lag === undefined ? {} : { readModelLag: Math.min(lag, LAG_COUNTED_UP_TO) };
    if (reason === undefined) return { status: 'ready', store: this.config.store, readModels, ...shown, maxLag };
    response.status(503);
    return { status: 'not-ready', store: this.config.store, readModels, ...shown, maxLag, reason };
  }

  /** The read models' lag, or undefined when the store does not answer. */
  private async lag(limit: number): Promise<number | undefined> {
    try {
      await this.store.ping();
      return await this.readModels.lag(limit);
    } catch {
      return undefined;
    }
  }
}
