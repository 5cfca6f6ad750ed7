import { Module } from '@nestjs/common';
import { LEDGER_CONFIG } from '../config/ledger-config.js';
import { SitesModule } from '../sites/sites.module.js';
import { OPERATION_POLICY, operationPolicyFrom } from './operation-policy.js';
import {
  OperationCommits,
  PlanOperationHandler,
  RollbackOperationHandler,
  RunOperationHandler,
} from './operation-commands.js';
import { GetOperationHandler, ListOperationsHandler } from './operation.queries.js';
import { OperationStreams } from './operation-streams.js';
import { OperationsController } from './operations.controller.js';
import { PlanResolver } from './plan-resolver.js';
import { WaveExecutor } from './wave-executor.js';

@Module({
  imports: [SitesModule],
  controllers: [OperationsController],
  providers: [
    { provide: OPERATION_POLICY, inject: [LEDGER_CONFIG], useFactory: operationPolicyFrom },
    OperationStreams,
    OperationCommits,
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
