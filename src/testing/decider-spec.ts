import { expect } from 'vitest';
import type { DomainError } from '../common/domain-error.js';
import type { Recorded } from '../common/recorded.js';

type Event = { type: string; data: unknown };

export interface DeciderUnderTest<Command, E extends Event, State> {
  decide(command: Command, state: State): E[];
  evolve(state: State, event: Recorded<E>): State;
  initialState: State;
}

/** Records `events` as a stream would: versions from 1, a minute apart. */
export function record<E extends Event>(events: readonly E[], start = '2026-01-01T00:00:00.000Z'): Recorded<E>[] {
  const t0 = new Date(start).getTime();
  return events.map((event, index) => ({
    ...event,
    eventId: `event-${index + 1}`,
    version: index + 1,
    occurredAt: new Date(t0 + index * 60_000).toISOString(),
  }));
}

/**
 * Given/when/then for a decider:
 * `spec.given([...]).when(command).thenEmits([...])` or `.thenThrows(code)`.
 */
export function deciderSpec<Command, E extends Event, State>(decider: DeciderUnderTest<Command, E, State>) {
  return {
    given(history: readonly E[]) {
      const state = record(history).reduce(decider.evolve, decider.initialState);
      return {
        state,
        when(command: Command) {
          const decide = () => decider.decide(command, state);
          return {
            thenEmits(expected: readonly E[]): void {
              expect(decide()).toEqual(expected);
            },
            thenNothing(): void {
              expect(decide()).toEqual([]);
            },
            thenThrows(code: string): DomainError {
              let thrown: unknown;
              try {
                const events = decide();
                thrown = new Error(`expected ${code}, got events ${JSON.stringify(events)}`);
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toMatchObject({ code });
              return thrown as DomainError;
            },
          };
        },
      };
    },
  };
}
