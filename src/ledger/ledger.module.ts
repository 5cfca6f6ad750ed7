import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, type Clock } from './clock.js';

/** What every feature shares: the clock. */
@Global()
@Module({})
export class LedgerModule {
  static forRoot(clock: Clock): DynamicModule {
    return { module: LedgerModule, providers: [{ provide: CLOCK, useValue: clock }], exports: [CLOCK] };
  }
}
