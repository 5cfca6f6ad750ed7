import { EventSourceParserStream } from 'eventsource-parser/stream';
import { ApiProblem, call, NotSignedIn, type Query } from './api';
import type { LedgerEvent } from './api.types';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface FollowOptions {
  /** Filters and `from` of GET /v1/events/stream (`operationId`, `siteId`, `types`). */
  query: Query;
  onEvent: (event: LedgerEvent) => void;
  /** The connection's state, with the reason when it stopped for good. */
  onState: (state: StreamState, why?: string) => void;
  /** Aborting it ends the stream and every reconnection. */
  signal: AbortSignal;
}

/**
 * Follows GET /v1/events/stream. A browser EventSource cannot send an
 * Authorization header, so this reads the stream with fetch and parses it
 * with eventsource-parser; it does what EventSource would: it reconnects
 * after the server's `retry:` delay with `Last-Event-ID` (the last `id:`
 * seen, which the server prefers to `from`), so no event is lost or seen
 * twice. It stops on a refusal (401 signs out; 400, 403 will not change by
 * retrying) and when `signal` aborts.
 */
export async function followEvents(options: FollowOptions): Promise<void> {
  const { signal } = options;
  let lastId: string | undefined;
  let retryMs = 3000;
  while (!signal.aborted) {
    options.onState(lastId === undefined ? 'connecting' : 'reconnecting');
    try {
      const response = await call('/events/stream', {
        query: options.query,
        accept: 'text/event-stream',
        headers: lastId === undefined ? {} : { 'Last-Event-ID': lastId },
        signal,
      });
      if (response.body === null) throw new Error('the event stream has no body');
      options.onState('live');
      const reader = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onRetry: (ms) => (retryMs = ms) }))
        .getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.id !== undefined) lastId = value.id;
        options.onEvent(JSON.parse(value.data) as LedgerEvent);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof NotSignedIn) return;
      if (error instanceof ApiProblem && error.status < 500) {
        options.onState('stopped', error.message);
        return;
      }
    }
    if (!signal.aborted) options.onState('reconnecting');
    await pause(retryMs, signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
