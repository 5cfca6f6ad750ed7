import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { once } from 'node:events';
import type { Response } from 'express';

/** What a long response is, which decides how a shutdown ends it. */
export type ResponseKind = 'event-stream' | 'export';

/** One open long response, as seen from the server. */
export interface ResponseStreamInfo {
  kind: ResponseKind;
  /** Events written so far. */
  sent: number;
  /** Position of the last event written. */
  lastPosition: string | undefined;
  /** Waiting for the client to read before producing more. */
  blocked: boolean;
  /** Bytes written but not yet taken by the socket. */
  buffered: number;
}

/**
 * Writes a long response (an export, an event stream) at the pace the client
 * reads it: when the socket's buffer is full, `write` waits for 'drain'
 * instead of queueing more, so a slow client costs at most one buffer of
 * memory. `signal` aborts when the client goes away.
 */
export class ResponseStream {
  sent = 0;
  lastPosition: string | undefined;
  private readonly closed = new AbortController();
  private waitingForDrain = false;

  constructor(
    readonly kind: ResponseKind,
    private readonly response: Response,
  ) {
    response.once('close', () => this.closed.abort());
  }

  /** Aborts when the connection closes (the client left, or `end`/`destroy` ran). */
  get signal(): AbortSignal {
    return this.closed.signal;
  }

  info(): ResponseStreamInfo {
    return {
      kind: this.kind,
      sent: this.sent,
      lastPosition: this.lastPosition,
      blocked: this.waitingForDrain,
      buffered: this.response.writableLength,
    };
  }

  /**
   * Writes `chunk`; resolves once more may be written. False when the
   * client is gone: stop producing.
   */
  async write(chunk: string): Promise<boolean> {
    if (this.signal.aborted) return false;
    if (this.response.write(chunk)) return true;
    this.waitingForDrain = true;
    try {
      await once(this.response, 'drain', { signal: this.signal });
      return true;
    } catch {
      return false; // aborted: the connection closed while we waited
    } finally {
      this.waitingForDrain = false;
    }
  }

  /** Writes `chunk` only if it can go out now; for heartbeats, which need not queue behind a full buffer. */
  writeIfIdle(chunk: string): void {
    if (!this.signal.aborted && !this.response.writableNeedDrain) this.response.write(chunk);
  }

  /** Ends the response; whatever produces for it sees `signal` abort. */
  end(): void {
    if (!this.response.writableEnded) this.response.end();
    this.closed.abort();
  }

  /** Ends the response as broken, so the client cannot take a cut-off body for a complete one. */
  destroy(): void {
    this.response.destroy();
    this.closed.abort();
  }
}

/**
 * Every long response open right now. A shutdown ends them before the HTTP
 * server closes, so it never waits on a slow client: event streams end
 * cleanly (clients reconnect with Last-Event-ID elsewhere), exports are cut,
 * because a truncated export must not look complete.
 */
@Injectable()
export class ResponseStreams implements BeforeApplicationShutdown {
  private readonly open = new Set<ResponseStream>();

  start(kind: ResponseKind, response: Response): ResponseStream {
    const stream = new ResponseStream(kind, response);
    this.open.add(stream);
    stream.signal.addEventListener('abort', () => this.open.delete(stream), { once: true });
    return stream;
  }

  list(): ResponseStreamInfo[] {
    return [...this.open].map((stream) => stream.info());
  }

  beforeApplicationShutdown(): void {
    for (const stream of this.open) {
      if (stream.kind === 'event-stream') stream.end();
      else stream.destroy();
    }
  }
}

/** Lets other work (HTTP, timers) run between pages read from an in-process store. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
