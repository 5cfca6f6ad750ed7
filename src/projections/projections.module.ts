import { type DynamicModule, Global, Module } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { AuditProjection } from './audit/audit.projection.js';
import { FleetProjection } from './fleet/fleet.projection.js';
import { InstallationsProjection } from './installations.projection.js';
import { OperationsProjection } from './operations.projection.js';
import { RetentionProjection } from './retention.projection.js';
import { PROJECTIONS, type Projection } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { openReadModelDatabase, READ_MODEL_DB } from './read-model.database.js';

/** Every read model, in the order they are applied: the one list to extend. */
export const READ_MODELS = [
  InstallationsProjection,
  OperationsProjection,
  RetentionProjection,
  FleetProjection,
  AuditProjection,
];

/** The path of the read-model file (`:memory:` with the memory store). */
export const readModelFile = (config: LedgerConfig): string =>
  config.store === 'memory' ? ':memory:' : join(config.dataDir, 'read-model.db');

@Global()
@Module({
  providers: [
    {
      provide: READ_MODEL_DB,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): Database.Database => openReadModelDatabase(readModelFile(config)),
    },
    ...READ_MODELS,
    { provide: PROJECTIONS, inject: READ_MODELS, useFactory: (...projections: Projection[]) => projections },
    ProjectionRunner,
  ],
  exports: [ProjectionRunner, ...READ_MODELS],
})
export class ProjectionsModule {
  /** The same read models, built into `file` instead (see rebuild.ts). */
  static rebuildingInto(file: string): DynamicModule {
    return {
      module: ProjectionsModule,
      providers: [{ provide: READ_MODEL_DB, useFactory: () => openReadModelDatabase(file, { disposable: true }) }],
    };
  }
}
