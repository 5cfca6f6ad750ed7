import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AuthModule } from './auth/auth.module.js';
import { ConfigModule } from './config/config.module.js';
import type { LedgerConfig } from './config/ledger-config.js';
import type { DataFolderLock } from './data-folder/data-folder-lock.js';
import { DataFolderModule } from './data-folder/data-folder.module.js';
import { AuditModule } from './audit/audit.module.js';
import { FleetModule } from './fleet/fleet.module.js';
import { HealthModule } from './health/health.module.js';
import { HttpModule } from './http/http.module.js';
import { systemClock, type Clock } from './ledger/clock.js';
import { LedgerModule } from './ledger/ledger.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { OperationsModule } from './operations/operations.module.js';
import { READ_MODELS } from './read-model-layout.js';
import { ReadModelsModule } from './read-models/read-models.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SitesModule } from './sites/sites.module.js';
import type { Stores } from './stores/open-stores.js';
import { StoresModule } from './stores/stores.module.js';
import { SubscriptionsModule } from './subscriptions/subscriptions.module.js';
import { TransparencyLogModule } from './transparency-log/transparency-log.module.js';
import { VerificationModule } from './verification/verification.module.js';
import { WebConsoleModule } from './web-console/web-console.module.js';

export interface AppOptions {
  /** The time source; tests pass a controllable one. */
  clock?: Clock;
  /**
   * The data folder, when the caller holds it already (main.ts); otherwise
   * the app takes it as it starts and releases it as it closes.
   */
  dataFolderLock?: DataFolderLock;
  /** The stores, when the caller opened them already (main.ts); otherwise the app opens them as it starts. */
  stores?: Stores;
  /** The built web console to serve at /console; by default dist/console beside the running code (see WebConsoleModule). */
  consoleDirectory?: string;
}

/** The whole service, for a given configuration (main.ts reads it from the environment; tests make their own). */
@Module({})
export class AppModule {
  static forRoot(config: LedgerConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(config),
        // Before every module that opens a file in the data folder: see DataFolderModule.
        DataFolderModule.forRoot(options.dataFolderLock),
        LedgerModule.forRoot(options.clock ?? systemClock),
        CqrsModule.forRoot(),
        StoresModule.forRoot(options.stores),
        ReadModelsModule.forRoot(READ_MODELS),
        AuthModule,
        HttpModule,
        SitesModule,
        OperationsModule,
        RetentionModule,
        FleetModule,
        AuditModule,
        SubscriptionsModule,
        TransparencyLogModule,
        VerificationModule,
        HealthModule,
        WebConsoleModule.forRoot(options.consoleDirectory),
      ],
    };
  }
}
