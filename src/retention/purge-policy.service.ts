import { Inject, Injectable, Logger } from '@nestjs/common';
import { EVENT_STORE, type EventStore, type StreamAppend } from '../event-store/event-store.port.js';
import { PURGE_POLICY_STREAM } from '../event-store/ledger-streams.js';
import { CLOCK, nextEventTime, type Clock } from '../ledger/clock.js';
import { CommandCore } from '../ledger/command-core.js';
import { toRecorded } from '../ledger/recorded-event.js';
import type { RequestContext } from '../ledger/request-context.js';
import { streamChange } from '../ledger/stream-change.js';
import {
  decidePurgePolicy,
  evolvePurgePolicy,
  initialPurgePolicy,
  type PurgePolicyEvent,
  type PurgePolicyState,
} from './domain/purge-policy.js';

/** The purge switch as read from its stream. */
export interface LoadedPurgePolicy {
  state: PurgePolicyState;
  version: number;
  lastOccurredAt: string | undefined;
}

/** The purge switch on its stream: read it, flip it. */
@Injectable()
export class PurgePolicy {
  private readonly logger = new Logger('PurgePolicy');

  constructor(
    private readonly core: CommandCore,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load(): Promise<LoadedPurgePolicy> {
    const stored = await this.store.readStream(PURGE_POLICY_STREAM);
    const state = stored
      .map((event) => toRecorded<PurgePolicyEvent>(event))
      .reduce(evolvePurgePolicy, initialPurgePolicy);
    const last = stored.at(-1);
    return { state, version: last?.version ?? 0, lastOccurredAt: last?.metadata.occurredAt };
  }

  /**
   * An append that records nothing and only holds if the switch is still
   * as `policy` was read: committed with a purge, it makes a freeze
   * recorded meanwhile win over the purge.
   */
  unchangedSince(policy: LoadedPurgePolicy): StreamAppend {
    return { streamId: PURGE_POLICY_STREAM, expectedVersion: policy.version, events: [] };
  }

  async set(paused: boolean, context: RequestContext): Promise<PurgePolicyState> {
    return this.core.execute({ type: 'SetPurgePaused', context }, async () => {
      const loaded = await this.load();
      const { state } = loaded;
      const events = decidePurgePolicy(
        {
          type: 'SetPurgePaused',
          data: { paused, reason: context.reason ?? '' },
          metadata: { actor: { id: context.principal.id } },
        },
        state,
      );
      const now = nextEventTime(this.clock, loaded.lastOccurredAt);
      const change = streamChange(PURGE_POLICY_STREAM, loaded, events, evolvePurgePolicy, context, now);
      return {
        appends: [change.append],
        answer: () => {
          // Reasons are an operator's words about an incident, not personal data.
          if (events.length > 0) {
            const { principal, correlationId, reason } = context;
            this.logger.log(
              { paused, actor: principal.id, reason, correlationId },
              `purging ${paused ? 'paused' : 'resumed'} by ${principal.id}`,
            );
          }
          return change.state;
        },
      };
    });
  }
}
