import { Module } from '@nestjs/common';
import { EventStreamController } from './event-stream.controller.js';
import { EventStreamSettings } from './event-stream.settings.js';
import { LiveEventStreams } from './live-event-streams.js';
import { StreamEventsHandler } from './stream-events.query.js';

/** GET /v1/events/stream: the ledger's global order, live, as Server-Sent Events. */
@Module({
  controllers: [EventStreamController],
  providers: [EventStreamSettings, LiveEventStreams, StreamEventsHandler],
})
export class SubscriptionsModule {}
