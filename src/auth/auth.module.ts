import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import { AuthGuard } from './auth.guard.js';
import { ensureTokenFile } from './token-bootstrap.js';
import { TokenRegistry } from './token-registry.js';

/**
 * Bearer-token authentication for every route. Registers `AuthGuard` as the
 * global guard itself, so importing this module is all it takes (and
 * nothing else should register it again). Needs `ConfigModule`.
 */
@Module({
  providers: [
    {
      provide: TokenRegistry,
      // The data folder is held before a first start writes tokens.json into it.
      inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
      // Plain console output: the generated tokens must reach the operator
      // even when the Nest logger is turned down.
      useFactory: (config: LedgerConfig) =>
        TokenRegistry.fromFile(ensureTokenFile(config, (line) => console.log(line))),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenRegistry],
})
export class AuthModule {}
