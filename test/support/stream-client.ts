import { request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pollUntil } from '../../src/testing/poll-until.js';
import type { AppUnderTest } from './test-app.js';

/**
 * The app's HTTP server listening on a loopback port, for clients that read
 * a response as it arrives (supertest waits for the end). supertest keeps
 * working against the same server; app.close() closes it.
 */
export async function listen(t: AppUnderTest): Promise<string> {
  const server = t.app.getHttpServer() as Server;
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One Server-Sent Events frame, as the HTML standard parses it. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  /** Comment lines (`: …`), such as heartbeats. */
  comments: string[];
}

/**
 * A GET whose body is read as it arrives: raw text, NDJSON lines or SSE
 * frames. `pause()` stops reading (the server then sees backpressure);
 * `until` waits, with a deadline, for what the test expects.
 */
export class StreamClient {
  text = '';
  /**
   * Frames parsed so far, and the text after the last complete one. Parsed
   * chunk by chunk rather than from `text`: substrings of a huge string keep
   * all of it alive.
   */
  private readonly parsed: SseFrame[] = [];
  private pending = '';
  private ended = false;

  private constructor(
    readonly response: IncomingMessage,
    private readonly abort: () => void,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.text += chunk;
      this.pending += chunk;
      const end = this.pending.lastIndexOf('\n\n');
      if (end >= 0) {
        for (const block of this.pending.slice(0, end).split('\n\n'))
          if (block !== '') this.parsed.push(parseFrame(block));
        this.pending = this.pending.slice(end + 2);
      }
    });
    response.on('close', () => {
      this.ended = true;
    });
  }

  static open(url: string, headers: Record<string, string>): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const outgoing = request(url, { headers });
      outgoing.once('response', (response) => resolve(new StreamClient(response, () => outgoing.destroy())));
      outgoing.once('error', reject);
      outgoing.end();
    });
  }

  get status(): number | undefined {
    return this.response.statusCode;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Complete SSE frames received so far (a frame ends with a blank line). */
  frames(): SseFrame[] {
    return this.parsed;
  }

  /** Frames that carry an event. */
  events(): (SseFrame & { id: string; event: string; data: string })[] {
    return this.frames().filter(
      (frame): frame is SseFrame & { id: string; event: string; data: string } => frame.data !== undefined,
    );
  }

  /** Complete lines received so far. */
  lines(): string[] {
    return this.text.split('\n').slice(0, -1);
  }

  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  /**
   * Resolves once `condition()` holds; rejects after `timeoutMs`, or as soon
   * as the stream ends without it.
   */
  async until(condition: () => boolean, timeoutMs = 10_000, what = 'the expected data'): Promise<void> {
    await pollUntil(
      () => {
        if (condition()) return true;
        if (this.ended) throw new Error(`stream closed before ${what}; got ${this.text.length} chars`);
        return false;
      },
      { what, timeoutMs, intervalMs: 10, show: () => `${this.text.length} chars` },
    );
  }

  close(): void {
    this.abort();
  }
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = { comments: [] };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      frame.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id' || field === 'event' || field === 'retry') frame[field] = value;
    if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
  }
  return frame;
}
