import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import type { StoredEvent } from '../event-store/event-envelope.js';

/**
 * A stored event as its decider folds it, with `data` as the reader may see
 * it (contacts sealed, opened, or withheld).
 *
 * The one place a stored event becomes a typed domain event. The store
 * holds JSON; the type is taken on trust because every stream holds only
 * what the command path wrote from its own decider's events, and each
 * `evolve` ends in an exhaustiveness check that throws on a type it does
 * not know rather than folding it as something else.
 */
export function toRecorded<E extends { type: string; data: unknown }>(
  event: StoredEvent,
  data: JsonObject = event.data,
): Recorded<E> {
  const recorded = {
    type: event.type,
    data,
    eventId: event.eventId,
    version: event.version,
    occurredAt: event.metadata.occurredAt,
  };
  return recorded as unknown as Recorded<E>;
}
