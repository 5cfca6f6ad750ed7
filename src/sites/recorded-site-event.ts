import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import type { SiteEvent } from './domain/site.events.js';

/**
 * A stored site event as `evolveSite` folds it, with `data` as the reader
 * may see it (contacts sealed, opened, or left out). Site streams hold only
 * what SiteStreams wrote, so the type names a SiteEvent.
 */
export function toRecordedSiteEvent(event: StoredEvent, data: JsonObject = event.data): Recorded<SiteEvent> {
  return {
    type: event.type,
    data,
    eventId: event.eventId,
    version: event.version,
    occurredAt: event.metadata.occurredAt,
  } as unknown as Recorded<SiteEvent>;
}
