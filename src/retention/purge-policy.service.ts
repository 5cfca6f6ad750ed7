import { Inject, Injectable } from '@nestjs/common';
import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import { WrongExpectedVersionError } from '../event-store/event-store.errors.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { PURGE_POLICY_STREAM } from '../event-store/ledger-streams.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { toNewEvents, type RequestContext } from '../ledger/request-context.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import {
  decidePurgePolicy,
  evolvePurgePolicy,
  initialPurgePolicy,
  type PurgePolicyEvent,
  type PurgePolicyState,
} from './domain/purge-policy.js';

/** The purge switch on its stream: read it, flip it. */
@Injectable()
export class PurgePolicy {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readModels: ProjectionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load(): Promise<PurgePolicyState & { lastOccurredAt?: string }> {
    const stored = await this.store.readStream(PURGE_POLICY_STREAM);
    let state = initialPurgePolicy;
    for (const event of stored) {
      state = evolvePurgePolicy(state, {
        type: event.type,
        data: event.data,
        eventId: event.eventId,
        version: event.version,
        occurredAt: event.metadata.occurredAt,
      } as unknown as Recorded<PurgePolicyEvent>);
    }
    return { ...state, ...(stored.length > 0 ? { lastOccurredAt: stored.at(-1)!.metadata.occurredAt } : {}) };
  }

  async set(paused: boolean, context: RequestContext): Promise<PurgePolicyState> {
    for (let attempt = 1; ; attempt += 1) {
      const { lastOccurredAt, ...state } = await this.load();
      const events = decidePurgePolicy(
        { type: 'SetPurgePaused', data: { paused, reason: context.reason ?? '' }, metadata: { actor: { id: context.principal.id } } },
        state,
      );
      if (events.length === 0) return state;
      const now = nextEventTime(this.clock, lastOccurredAt);
      try {
        const result = await this.store.append(
          PURGE_POLICY_STREAM,
          state.version,
          toNewEvents(events.map((event) => ({ type: event.type, data: event.data as unknown as JsonObject })), context, now),
        );
        await this.readModels.waitFor(result.position);
      } catch (error) {
        if (error instanceof WrongExpectedVersionError && attempt < 3) continue;
        throw error;
      }
      const { lastOccurredAt: _ignored, ...after } = await this.load();
      return after;
    }
  }
}
