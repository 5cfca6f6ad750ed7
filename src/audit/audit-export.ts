import type { Response } from 'express';
import type { EventView } from '../ledger/event.view.js';
import type { ResponseStream } from '../http/response-stream.js';

export type ExportFormat = 'ndjson' | 'csv';

const CSV_COLUMNS = [
  'position',
  'eventId',
  'occurredAt',
  'type',
  'streamId',
  'version',
  'actor',
  'operationId',
  'reason',
  'ticket',
  'correlationId',
  'data',
  'metadata',
  'prevHash',
  'hash',
] as const;

/** Lines are gathered up to about this size per write: fewer, larger chunks, same memory bound. */
const WRITE_BATCH_CHARS = 32 * 1024;

/**
 * Streams `events` as NDJSON or CSV at the client's pace (see
 * ResponseStream), stopping as soon as the client leaves. A failure after
 * the first byte cuts the connection, so a truncated export never looks
 * complete.
 */
export async function writeExport(
  response: Response,
  out: ResponseStream,
  format: ExportFormat,
  events: AsyncIterable<EventView>,
): Promise<void> {
  response.status(200);
  if (format === 'csv') {
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', 'attachment; filename="audit-events.csv"');
  } else {
    response.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  }
  response.setHeader('Cache-Control', 'no-store');
  const line = format === 'csv' ? csvLine : (event: EventView) => `${JSON.stringify(event)}\n`;
  let batch = format === 'csv' ? csvRow(CSV_COLUMNS) : '';
  try {
    for await (const event of events) {
      batch += line(event);
      out.sent += 1;
      out.lastPosition = event.position;
      if (batch.length >= WRITE_BATCH_CHARS) {
        if (!(await out.write(batch))) return; // the client left; leaving the loop ends the query
        batch = '';
      }
    }
    if (batch.length > 0 && !(await out.write(batch))) return;
    out.end();
  } catch (error) {
    out.destroy();
    throw error;
  }
}

function csvLine(event: EventView): string {
  const { metadata } = event;
  return csvRow([
    event.position,
    event.eventId,
    event.occurredAt,
    event.type,
    event.streamId,
    String(event.version),
    event.actor,
    metadata.operationId ?? '',
    metadata.reason ?? '',
    metadata.ticket ?? '',
    metadata.correlationId,
    JSON.stringify(event.data),
    JSON.stringify(metadata),
    event.prevHash,
    event.hash,
  ]);
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF ends the row. */
export function csvRow(fields: readonly string[]): string {
  return `${fields.map((field) => (/[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field)).join(',')}\r\n`;
}
