import { Global, Module } from '@nestjs/common';
import { ResponseStreams } from './response-stream.js';

/** What every controller shares beyond the filters configure-app.ts installs: the long responses still open. */
@Global()
@Module({ providers: [ResponseStreams], exports: [ResponseStreams] })
export class HttpModule {}
