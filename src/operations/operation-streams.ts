import { Inject, Injectable } from '@nestjs/common';
import { deepFreeze } from '../common/deep-freeze.js';
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

/** Operations whose latest fold is kept (their plans hold up to LEDGER_MAX_OPERATION_SITES targets each). */
const CACHED_OPERATIONS = 64;

/** Operation streams on the event store: reading and folding, and preparing appends. */
@Injectable()
export class OperationStreams {
  /**
   * The latest fold of recently loaded operations, by stream version. An
   * operation is loaded many times while it runs (every command, every
   * wave, every read), and its OperationPlanned alone carries every
   * target: a load now parses only the events after the cached version.
   * Events never change, so this never changes an answer; operation state
   * holds no personal data (no contacts), so there is nothing to shred.
   */
  private readonly folds = new Map<string, LoadedOperation>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async load(operationId: string): Promise<LoadedOperation> {
    const cached = this.folds.get(operationId);
    const stored = await this.store.readStream(operationStreamId(operationId), { afterVersion: cached?.version ?? 0 });
    let state = cached?.state ?? initialOperationState;
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
    const loaded: LoadedOperation = last
      ? { state, version: last.version, lastOccurredAt: last.metadata.occurredAt }
      : { state, version: cached?.version ?? 0, lastOccurredAt: cached?.lastOccurredAt };
    if (loaded.version > 0) {
      this.folds.delete(operationId); // most recently used last
      this.folds.set(operationId, { ...loaded, state: deepFreeze(loaded.state) });
      for (const oldest of this.folds.keys()) {
        if (this.folds.size <= CACHED_OPERATIONS) break;
        this.folds.delete(oldest);
      }
    }
    return loaded;
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
