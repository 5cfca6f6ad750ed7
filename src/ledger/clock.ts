/** The only place the service reads the time; tests provide their own. */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => new Date() };

/**
 * The time to record for a new event: the clock, but never before the
 * stream's last event, so `occurredAt` never goes backwards within a stream
 * (a stepped-back clock would otherwise make point-in-time reads wrong).
 */
export function nextEventTime(clock: Clock, lastOccurredAt: string | undefined): string {
  const now = clock.now().toISOString();
  return lastOccurredAt !== undefined && lastOccurredAt > now ? lastOccurredAt : now;
}
