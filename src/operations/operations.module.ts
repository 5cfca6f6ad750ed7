import { Module } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import type { SitePolicy } from '../sites/domain/site.decider.js';
import { SitesModule } from '../sites/sites.module.js';
import { SITE_POLICY } from '../sites/sites.tokens.js';
import type { OperationSitePolicies } from './domain/operation.sites.js';
import { PlanOperationHandler, RollbackOperationHandler, RunOperationHandler } from './operation.handlers.js';
import { GetOperationHandler, ListOperationsHandler } from './operation.queries.js';
import { OperationSites } from './operation-sites.js';
import { OperationStreams } from './operation-streams.js';
import { OperationsController } from './operations.controller.js';
import { OPERATION_POLICIES } from './operations.tokens.js';
import { PlanResolver } from './plan-resolver.js';
import { WaveExecutor } from './wave-executor.js';

@Module({
  imports: [SitesModule],
  controllers: [OperationsController],
  providers: [
    {
      provide: OPERATION_POLICIES,
      inject: [LEDGER_CONFIG, SITE_POLICY],
      useFactory: (config: LedgerConfig, site: SitePolicy): OperationSitePolicies => ({
        site,
        operation: {
          maxOperationSites: config.maxOperationSites,
          largeOperationSites: config.largeOperationSites,
          canarySites: config.canarySites,
        },
      }),
    },
    OperationStreams,
    OperationSites,
    PlanResolver,
    WaveExecutor,
    PlanOperationHandler,
    RunOperationHandler,
    RollbackOperationHandler,
    GetOperationHandler,
    ListOperationsHandler,
  ],
  exports: [WaveExecutor],
})
export class OperationsModule {}
