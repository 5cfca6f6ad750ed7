import type { JsonObject } from '../common/json.js';
import type { EventMetadata, StoredEvent } from '../event-store/event-envelope.js';

/** An event as history, audit and the stream show it (SPEC §5). */
export interface EventView {
  eventId: string;
  type: string;
  streamId: string;
  version: number;
  position: string;
  occurredAt: string;
  actor: string;
  data: JsonObject;
  metadata: EventMetadata;
  prevHash: string;
  hash: string;
}

/** `data` is the event's data as the reader may see it (personal data opened or redacted). */
export function toEventView(event: StoredEvent, data: JsonObject): EventView {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    version: event.version,
    position: event.position,
    occurredAt: event.metadata.occurredAt,
    actor: event.metadata.actor,
    data,
    metadata: event.metadata,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}
