import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, type Clock } from './clock.js';
import { CommandCore } from './command-core.js';
import { EventViewer } from './event-viewer.js';
import { PersonalDataCodec } from './personal-data.codec.js';

/**
 * What every feature shares: the clock, the one write path, sealing and
 * opening personal data, and events as readers see them.
 */
@Global()
@Module({})
export class LedgerModule {
  static forRoot(clock: Clock): DynamicModule {
    return {
      module: LedgerModule,
      providers: [{ provide: CLOCK, useValue: clock }, PersonalDataCodec, EventViewer, CommandCore],
      exports: [CLOCK, PersonalDataCodec, EventViewer, CommandCore],
    };
  }
}
