import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AuthModule } from './auth/auth.module.js';
import { ConfigModule } from './config/config.module.js';
import type { LedgerConfig } from './config/ledger-config.js';
import { HealthController } from './health/health.controller.js';
import { systemClock, type Clock } from './ledger/clock.js';
import { LedgerModule } from './ledger/ledger.module.js';
import { OperationsModule } from './operations/operations.module.js';
import { AuditModule } from './projections/audit/audit.module.js';
import { FleetModule } from './projections/fleet/fleet.module.js';
import { ProjectionsModule } from './projections/projections.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SitesModule } from './sites/sites.module.js';
import { StoresModule } from './stores/stores.module.js';
import { SubscriptionsModule } from './subscriptions/subscriptions.module.js';
import { VerificationModule } from './verification/verification.module.js';

export interface AppOptions {
  /** The time source; tests pass a controllable one. */
  clock?: Clock;
}

/** The whole service, for a given configuration (main.ts reads it from the environment; tests make their own). */
@Module({})
export class AppModule {
  static forRoot(config: LedgerConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LedgerModule.forRoot(options.clock ?? systemClock),
        CqrsModule.forRoot(),
        StoresModule,
        ProjectionsModule,
        AuthModule,
        SitesModule,
        OperationsModule,
        RetentionModule,
        FleetModule,
        AuditModule,
        SubscriptionsModule,
        VerificationModule,
      ],
      controllers: [HealthController],
    };
  }
}

