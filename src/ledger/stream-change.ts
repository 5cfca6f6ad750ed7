import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import type { StreamAppend } from '../event-store/event-store.port.js';
import { toNewEvents, type RequestContext } from './request-context.js';

/** Decided events ready to commit, and the state they lead to once committed. */
export interface StreamChange<State> {
  append: StreamAppend;
  state: State;
}

/**
 * The append of decided events at the version their stream was loaded at,
 * and the state they lead to, folded with the stream's own `evolve` (so a
 * command answers without reading its events back).
 *
 * @param stored what to store as each event's data, when it differs from
 *   the decided data (personal data sealed); the fold always sees the
 *   decided data.
 */
export function streamChange<State, E extends { type: string; data: unknown }>(
  streamId: string,
  loaded: { state: State; version: number },
  events: readonly E[],
  evolve: (state: State, event: Recorded<E>) => State,
  context: RequestContext,
  occurredAt: string,
  stored: readonly JsonObject[] = events.map((event) => event.data as JsonObject),
): StreamChange<State> {
  const prepared = toNewEvents(
    events.map((event, index) => ({ type: event.type, data: stored[index]! })),
    context,
    occurredAt,
  );
  let state = loaded.state;
  events.forEach((event, index) => {
    const recorded = { ...event, eventId: prepared[index]!.eventId, version: loaded.version + index + 1, occurredAt };
    state = evolve(state, recorded);
  });
  return { append: { streamId, expectedVersion: loaded.version, events: prepared }, state };
}
