/**
 * A domain event as it was recorded: the `{type, data}` its decider produced,
 * plus the facts the ledger added when storing it. Deciders fold these so
 * state can name the event it came from (a restore names the deletion it
 * undoes) and when it happened, without reading a clock.
 */
export type Recorded<E extends { type: string; data: unknown }> = E & {
  eventId: string;
  /** The stream's version after this event (1 for the first). */
  version: number;
  /** ISO 8601 UTC. */
  occurredAt: string;
};
