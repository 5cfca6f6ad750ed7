import { Transform, type TransformCallback } from 'node:stream';

/**
 * Counts the rows of an export as its bytes pass by. NDJSON escapes every
 * newline inside an event, so rows are lines; a CSV field may hold a quoted
 * newline (a multi-line reason), so a newline counts only outside quotes (an
 * escaped `""` toggles twice). CSV's header row is not a row of data.
 */
export class RowCounter {
  rows = 0;
  bytes = 0;
  private quoted = false;
  private headerLeft: boolean;

  constructor(private readonly format: 'ndjson' | 'csv') {
    this.headerLeft = format === 'csv';
  }

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const byte of chunk) {
      if (byte === 0x22 && this.format === 'csv') this.quoted = !this.quoted;
      else if (byte === 0x0a && !this.quoted) {
        if (this.headerLeft) this.headerLeft = false;
        else this.rows++;
      }
    }
  }
}

/** A pass-through that counts, and tells `onProgress` at most every `everyMs`. */
export function countingStream(counter: RowCounter, onProgress: () => void, everyMs: number): Transform {
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      counter.add(chunk);
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        onProgress();
      }
      done(null, chunk);
    },
  });
}
