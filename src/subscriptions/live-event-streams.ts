import { Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import type { EventView } from '../ledger/event.view.js';
import type { FrameKind } from './event-stream.dto.js';
import { EventStreamSettings } from './event-stream.settings.js';
import type { ResponseStream } from '../http/response-stream.js';

/**
 * Serves Server-Sent Events: one frame per event (`id:` its global
 * position, `event:` its type unless `unnamed`, `data:` its view as JSON), a comment as a
 * heartbeat while idle, and the next event pulled only once the client has
 * taken the previous ones (ResponseStream).
 */
@Injectable()
export class LiveEventStreams {
  private readonly logger = new Logger('EventStream');

  constructor(private readonly settings: EventStreamSettings) {}

  async serve(
    response: Response,
    out: ResponseStream,
    events: AsyncIterable<EventView>,
    frames: FrameKind = 'named',
  ): Promise<void> {
    response.status(200);
    response.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    response.setHeader('Cache-Control', 'no-cache, no-transform');
    response.setHeader('Connection', 'keep-alive');
    // nginx would otherwise buffer the stream and defeat both liveness and backpressure.
    response.setHeader('X-Accel-Buffering', 'no');
    response.flushHeaders();
    response.socket?.setNoDelay(true);

    const heartbeat = setInterval(() => out.writeIfIdle(': heartbeat\n\n'), this.settings.heartbeatMs);
    heartbeat.unref();
    try {
      if (!(await out.write(`retry: ${this.settings.retryMs}\n\n`))) return;
      for await (const event of events) {
        if (!(await out.write(frame(event, frames)))) return; // the client left; leaving the loop ends the subscription
        out.sent += 1;
        out.lastPosition = event.position;
      }
      out.end(); // the store closed: the client reconnects with Last-Event-ID
    } catch (error) {
      // Headers are out, so no problem document: cut the connection and let the client resume.
      this.logger.warn(`event stream ended: ${error instanceof Error ? error.message : String(error)}`);
      out.destroy();
    } finally {
      clearInterval(heartbeat);
    }
  }
}

/**
 * JSON holds no raw line breaks, so the view fits on one `data:` line. An
 * unnamed frame has no `event:` line: EventSource then dispatches it as
 * `message`, which is what `onmessage` receives.
 */
function frame(event: EventView, frames: FrameKind): string {
  const name = frames === 'named' ? `event: ${event.type}\n` : '';
  return `id: ${event.position}\n${name}data: ${JSON.stringify(event)}\n\n`;
}
