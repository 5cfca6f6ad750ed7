import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { LedgerConfig } from '../config/ledger-config.js';
import { LedgerMetrics } from './ledger-metrics.js';
import { loggerParams } from './log-options.js';

/**
 * Logs and metrics for everything: the pino logger behind Nest's Logger
 * (configure-app.ts installs it) with one line per HTTP request, and the
 * app's LedgerMetrics, which the write path, the waves and `/metrics` share.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(config: LedgerConfig): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [LoggerModule.forRoot(loggerParams(config, process.stdout.isTTY === true))],
      providers: [LedgerMetrics],
      exports: [LedgerMetrics],
    };
  }
}
