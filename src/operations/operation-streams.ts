import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { deepFreeze } from '../common/deep-freeze.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { operationStreamId } from '../event-store/ledger-streams.js';
import { toRecorded } from '../ledger/recorded-event.js';
import type { RequestContext } from '../ledger/request-context.js';
import { streamChange, type StreamChange } from '../ledger/stream-change.js';
import { evolveOperation } from './domain/operation.decider.js';
import type { OperationEvent } from './domain/operation.events.js';
import { initialOperationState, type OperationState } from './domain/operation.state.js';

export interface LoadedOperation {
  state: OperationState;
  version: number;
  lastOccurredAt: string | undefined;
  /** Global position of the stream's last event; undefined for an operation that does not exist. */
  lastPosition: string | undefined;
}

/** Operations whose latest fold is kept (their plans hold up to LEDGER_MAX_OPERATION_SITES targets each). */
const CACHED_OPERATIONS = 64;

/** Operation streams on the event store: reading and folding, and turning decided events into an append. */
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
  private readonly folds = new LRUCache<string, LoadedOperation>({ max: CACHED_OPERATIONS });

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async load(operationId: string): Promise<LoadedOperation> {
    const cached = this.folds.get(operationId);
    const stored = await this.store.readStream(operationStreamId(operationId), { afterVersion: cached?.version ?? 0 });
    const last = stored.at(-1);
    if (last === undefined) {
      return cached ?? { state: initialOperationState, version: 0, lastOccurredAt: undefined, lastPosition: undefined };
    }
    let state = cached?.state ?? initialOperationState;
    for (const event of stored) state = evolveOperation(state, toRecorded<OperationEvent>(event));
    const loaded: LoadedOperation = {
      state: deepFreeze(state),
      version: last.version,
      lastOccurredAt: last.metadata.occurredAt,
      lastPosition: last.position,
    };
    this.folds.set(operationId, loaded);
    return loaded;
  }

  /**
   * The append of decided events at the version the operation was loaded at,
   * and the state it leads to. Every event of an operation carries its plan's
   * ticket in its metadata, so the audit finds the whole operation by ticket.
   */
  change(
    operationId: string,
    loaded: LoadedOperation,
    events: readonly OperationEvent[],
    context: RequestContext,
    occurredAt: string,
  ): StreamChange<OperationState> {
    const ticket = context.ticket ?? ticketOf(loaded.state, events);
    const withTicket = ticket === undefined ? context : { ...context, ticket };
    return streamChange(operationStreamId(operationId), loaded, events, evolveOperation, withTicket, occurredAt);
  }
}

/** The ticket an operation was planned under: from its state, or from the plan being recorded now. */
export function ticketOf(state: OperationState, events: readonly OperationEvent[] = []): string | undefined {
  if (state.status === 'rejected') return state.rejection.ticket ?? undefined;
  if (state.status !== 'none') return state.plan.ticket ?? undefined;
  const plan = events.find((event) => event.type === 'OperationPlanned' || event.type === 'OperationRejected');
  return plan?.data.ticket ?? undefined;
}
