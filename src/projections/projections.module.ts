import { Global, Module } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { InstallationsProjection } from './installations.projection.js';
import { OperationsProjection } from './operations.projection.js';
import { RetentionProjection } from './retention.projection.js';
import { PROJECTIONS, type Projection } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { openReadModelDatabase, READ_MODEL_DB } from './read-model.database.js';

/** Every read model, in the order they are applied: the one list to extend. */
const READ_MODELS = [InstallationsProjection, OperationsProjection, RetentionProjection];

@Global()
@Module({
  providers: [
    {
      provide: READ_MODEL_DB,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): Database.Database =>
        openReadModelDatabase(config.store === 'memory' ? ':memory:' : join(config.dataDir, 'read-model.db')),
    },
    ...READ_MODELS,
    { provide: PROJECTIONS, inject: READ_MODELS, useFactory: (...projections: Projection[]) => projections },
    ProjectionRunner,
  ],
  exports: [ProjectionRunner, ...READ_MODELS],
})
export class ProjectionsModule {}
