import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { LedgerPositionInterceptor } from './ledger-position.interceptor.js';
import { ResponseStreams } from './response-stream.js';

/**
 * What every controller shares beyond the filters configure-app.ts installs:
 * the long responses still open, read-your-writes across instances
 * (`Ledger-Position` / `Ledger-Min-Position`) on every route, and
 * `Idempotency-Key` on every POST and PUT.
 */
@Global()
@Module({
  providers: [
    ResponseStreams,
    // First, so outermost: it stores the Ledger-Position the next one sets, and a replay never reaches it.
    { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
    { provide: APP_INTERCEPTOR, useClass: LedgerPositionInterceptor },
  ],
  exports: [ResponseStreams],
})
export class HttpModule {}
