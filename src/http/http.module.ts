import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LedgerPositionInterceptor } from './ledger-position.interceptor.js';
import { ResponseStreams } from './response-stream.js';

/**
 * What every controller shares beyond the filters configure-app.ts installs:
 * the long responses still open, and read-your-writes across instances
 * (`Ledger-Position` / `Ledger-Min-Position`) on every route.
 */
@Global()
@Module({
  providers: [ResponseStreams, { provide: APP_INTERCEPTOR, useClass: LedgerPositionInterceptor }],
  exports: [ResponseStreams],
})
export class HttpModule {}
