import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { JsonObject } from '../common/json.js';
import type { EventMetadata, NewEvent } from '../event-store/event-envelope.js';

/** Who asked, why, and which request or job the resulting events belong to. */
export interface RequestContext {
  principal: Principal;
  correlationId: string;
  causationId: string | null;
  reason?: string;
  ticket?: string;
}

/**
 * Turns decided `{type, data}` events into events to append. `operationId`
 * and `compensates` are lifted from the data into the metadata when the data
 * carries them, so audit queries can filter on them for every event type.
 */
export function toNewEvents(
  events: readonly { type: string; data: JsonObject }[],
  context: RequestContext,
  occurredAt: string,
): NewEvent[] {
  return events.map(({ type, data }) => {
    const metadata: EventMetadata = {
      actor: context.principal.id,
      occurredAt,
      correlationId: context.correlationId,
      causationId: context.causationId,
    };
    if (typeof data['operationId'] === 'string') metadata.operationId = data['operationId'];
    if (typeof data['compensates'] === 'string') metadata.compensates = data['compensates'];
    if (context.reason !== undefined) metadata.reason = context.reason;
    if (context.ticket !== undefined) metadata.ticket = context.ticket;
    return { eventId: randomUUID(), type, data, metadata };
  });
}
