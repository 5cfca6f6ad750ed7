import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from './ledger-config.js';

/**
 * Provides `LEDGER_CONFIG` everywhere. It takes a finished config rather
 * than reading the environment, so that tests pass whatever they need and
 * only `main.ts` calls `loadConfig(process.env)`.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: LedgerConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: LEDGER_CONFIG, useValue: config }],
      exports: [LEDGER_CONFIG],
    };
  }
}
