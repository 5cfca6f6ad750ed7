import { Module } from '@nestjs/common';
import { EventViewer } from '../ledger/event-viewer.js';
import { PersonalDataCodec } from '../ledger/personal-data.codec.js';
import { EventStreamController } from './event-stream.controller.js';
import { EventStreamSettings } from './event-stream.settings.js';
import { LiveEventStreams } from './live-event-streams.js';
import { ResponseStreams } from './response-stream.js';
import { StreamEventsHandler } from './stream-events.query.js';

/**
 * GET /v1/events/stream: the ledger's global order, live, as Server-Sent
 * Events; and ResponseStreams, which every long response (exports too) is
 * written through.
 */
@Module({
  controllers: [EventStreamController],
  providers: [PersonalDataCodec, EventViewer, EventStreamSettings, LiveEventStreams, ResponseStreams, StreamEventsHandler],
  exports: [EventStreamSettings, ResponseStreams],
})
export class SubscriptionsModule {}
