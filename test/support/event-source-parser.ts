/** An event an EventSource dispatches: `type` is what a listener subscribes to ('message' reaches onmessage). */
export interface DispatchedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/**
 * The HTML standard's event-stream interpretation (§9.2.6), for tests: Node
 * 20 has no EventSource and no dependency may be added. Feed it the body as
 * it arrives; `dispatched` holds what a browser's EventSource would fire.
 * An event whose `event:` field is absent or empty is dispatched as
 * `message`, the only type `onmessage` sees.
 */
export class EventSourceParser {
  readonly dispatched: DispatchedEvent[] = [];
  private buffer = '';
  private data = '';
  private eventType = '';
  private lastEventId = '';
  private started = false;

  feed(chunk: string): void {
    this.buffer += chunk;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.startsWith('\uFEFF')) this.buffer = this.buffer.slice(1);
    }
    // Lines end with CRLF, LF or CR; a CR at the very end may be the first half of a CRLF.
    for (;;) {
      const match = /\r\n|\n|\r(?!$)/.exec(this.buffer);
      if (match === null) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  /** The events onmessage would receive. */
  messages(): DispatchedEvent[] {
    return this.dispatched.filter((event) => event.type === 'message');
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    // `retry` sets the reconnection time; other fields are ignored.
  }

  private dispatch(): void {
    if (this.data === '') {
      this.eventType = '';
      return;
    }
    const data = this.data.endsWith('\n') ? this.data.slice(0, -1) : this.data;
    this.dispatched.push({
      type: this.eventType === '' ? 'message' : this.eventType,
      data,
      lastEventId: this.lastEventId,
    });
    this.data = '';
    this.eventType = '';
  }
}
