import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/roles.decorator.js';
import { LEDGER_CONFIG, type LedgerConfig, type StoreName } from '../config/ledger-config.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';

export interface Health {
  status: 'ok' | 'unavailable';
  store: StoreName;
  /** Whether lists, stats and audit are current (`live`) or may lag. */
  readModels: ProjectionRunner['state'];
}

/** Health, for the OpenAPI document. */
class HealthResponse {
  @ApiProperty({ enum: ['ok', 'unavailable'] }) status: Health['status'];
  @ApiProperty({ enum: ['sqlite', 'postgres', 'eventstoredb', 'memory'] }) store: StoreName;
  @ApiProperty({ enum: ['live', 'catching-up', 'retrying', 'stopped'] }) readModels: Health['readModels'];
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly readModels: ProjectionRunner,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness and store reachability (no token needed)', security: [] })
  @ApiOkResponse({ description: 'The store answers', type: HealthResponse })
  @ApiServiceUnavailableResponse({
    description: 'The store does not answer (status "unavailable")',
    type: HealthResponse,
  })
  async check(@Res({ passthrough: true }) response: Response): Promise<Health> {
    try {
      await this.store.ping();
      return { status: 'ok', store: this.config.store, readModels: this.readModels.state };
    } catch {
      response.status(503);
      return { status: 'unavailable', store: this.config.store, readModels: this.readModels.state };
    }
  }
}
