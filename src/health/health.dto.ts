import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { StoreName } from '../config/ledger-config.js';
import type { ProjectionRunner } from '../read-models/projection-runner.js';

const STORES: StoreName[] = ['sqlite', 'postgres', 'eventstoredb', 'memory'];
type ReadModelState = ProjectionRunner['state'];
const READ_MODEL_STATES: ReadModelState[] = ['catching-up', 'live', 'retrying', 'failing'];

/** Read models' lag is counted up to this many events (see ProjectionRunner.lag). */
export const LAG_COUNTED_UP_TO = 1000;

const LAG_DESCRIPTION =
  `Ledger events in the store not yet applied to the read models, counted up to ${LAG_COUNTED_UP_TO} ` +
  `(${LAG_COUNTED_UP_TO} means at least that many); absent while the store cannot be read`;

/** GET /health: the store and the read models at a glance. */
export class HealthResponse {
  @ApiProperty({ enum: ['ok', 'unavailable'], description: '`unavailable` (503) when the store does not answer' })
  status: 'ok' | 'unavailable';

  @ApiProperty({ enum: STORES })
  store: StoreName;

  @ApiProperty({
    enum: READ_MODEL_STATES,
    description: 'Whether lists, stats and audit are current (`live`) or may lag',
  })
  readModels: ReadModelState;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: LAG_COUNTED_UP_TO, description: LAG_DESCRIPTION })
  readModelLag?: number;
}

/** GET /health/live. */
export class LivenessResponse {
  @ApiProperty({ enum: ['ok'] })
  status: 'ok';
}

/** GET /health/ready: 200 `ready`, or 503 `not-ready` with the reason. */
export class ReadinessResponse {
  @ApiProperty({ enum: ['ready', 'not-ready'] })
  status: 'ready' | 'not-ready';

  @ApiProperty({ enum: STORES })
  store: StoreName;

  @ApiProperty({ enum: READ_MODEL_STATES })
  readModels: ReadModelState;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: LAG_COUNTED_UP_TO, description: LAG_DESCRIPTION })
  readModelLag?: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'LEDGER_READY_MAX_LAG: the most events behind that is still ready',
  })
  maxLag: number;

  @ApiPropertyOptional({
    description: 'Why it is not ready',
    example: 'the read models are 250 events behind the store (at most 100 allowed)',
  })
  reason?: string;
}
