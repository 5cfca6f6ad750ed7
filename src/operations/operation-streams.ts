import { Inject, Injectable } from '@nestjs/common';
import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import type { NewEvent } from '../event-store/event-envelope.js';
import { EVENT_STORE, type EventStore, type StreamAppend } from '../event-store/event-store.port.js';
import { operationStreamId } from '../event-store/ledger-streams.js';
import { toNewEvents, type RequestContext } from '../ledger/request-context.js';
import { evolveOperation } from './domain/operation.decider.js';
import type { OperationEvent } from './domain/operation.events.js';
import { initialOperationState, type OperationState } from './domain/operation.state.js';

export interface LoadedOperation {
  state: OperationState;
  version: number;
  lastOccurredAt: string | undefined;
}

/** Operation streams on the event store: reading and folding, and preparing appends. */
@Injectable()
export class OperationStreams {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async load(operationId: string): Promise<LoadedOperation> {
    const stored = await this.store.readStream(operationStreamId(operationId));
    let state = initialOperationState;
    for (const event of stored) {
      // The stream holds only what this service wrote, so the type names an OperationEvent.
      const recorded = {
        type: event.type,
        data: event.data,
        eventId: event.eventId,
        version: event.version,
        occurredAt: event.metadata.occurredAt,
      } as unknown as Recorded<OperationEvent>;
      state = evolveOperation(state, recorded);
    }
    const last = stored.at(-1);
    return { state, version: last?.version ?? 0, lastOccurredAt: last?.metadata.occurredAt };
  }

  /** The append of decided events onto an operation stream at the version it was loaded at. */
  append(
    operationId: string,
    loaded: LoadedOperation,
    events: readonly OperationEvent[],
    context: RequestContext,
    occurredAt: string,
  ): StreamAppend {
    const prepared: NewEvent[] = toNewEvents(
      events.map((event) => ({ type: event.type, data: event.data as unknown as JsonObject })),
      context,
      occurredAt,
    );
    return { streamId: operationStreamId(operationId), expectedVersion: loaded.version, events: prepared };
  }
}
