import { Injectable } from '@nestjs/common';

/**
 * Settings of GET /v1/events/stream, as an injectable object so a test (or
 * a deployment behind a proxy with a shorter idle timeout) can change them.
 */
@Injectable()
export class EventStreamSettings {
  /**
   * How often an idle stream sends an SSE comment, so proxies and clients
   * can tell a quiet ledger from a dead connection.
   */
  heartbeatMs = 15_000;
  /** The reconnection delay the stream asks EventSource clients to use. */
  retryMs = 3_000;
}
