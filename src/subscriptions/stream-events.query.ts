import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DomainError } from '../common/domain-error.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import type { EventView } from '../ledger/event.view.js';
import { EventViewer } from '../ledger/event-viewer.js';
import { yieldToEventLoop } from '../http/response-stream.js';
import { StreamFilterSession, type StreamFilter } from './stream-filter.js';

/** `from=now`: start after the last event committed so far. */
export const FROM_NOW = 'now';

/** Events pulled between two turns of the event loop (an in-process store never waits on I/O). */
const PULLS_PER_TURN = 256;

/**
 * Every committed event after `after` (from the start if undefined) that
 * passes `filter`, in global order, then each new one as it is committed,
 * until `signal` aborts. Events are pulled from the store only as fast as
 * the consumer takes them.
 */
export class StreamEventsQuery extends Query<AsyncIterable<EventView>> {
  constructor(
    readonly after: { position: string; field: string } | undefined,
    readonly filter: StreamFilter,
    readonly signal: AbortSignal,
  ) {
    super();
  }
}

@QueryHandler(StreamEventsQuery)
export class StreamEventsHandler implements IQueryHandler<StreamEventsQuery> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly viewer: EventViewer,
  ) {}

  async execute({ after, filter, signal }: StreamEventsQuery): Promise<AsyncIterable<EventView>> {
    // Only what is committed from now on: after the last event there is now (none on an empty ledger).
    if (after?.position === FROM_NOW) return this.events(await this.store.lastPosition(), filter, signal);
    // Checked before the response starts, so a bad position is a 400, not a stream that silently shows nothing.
    if (after !== undefined) await this.checkPosition(after.position, after.field);
    return this.events(after?.position, filter, signal);
  }

  private async *events(
    after: string | undefined,
    filter: StreamFilter,
    signal: AbortSignal,
  ): AsyncGenerator<EventView> {
    // Long-lived: a revealer is reused for at most a second, and a SitePurged
    // passing through drops its site's at once (see EventViewSession).
    const session = this.viewer.session({ maxSites: 1024, ttlMs: 1000 });
    const passes = new StreamFilterSession(filter, this.store);
    let pulled = 0;
    for await (const event of this.store.subscribeAll({ after, signal })) {
      pulled += 1;
      if (pulled % PULLS_PER_TURN === 0) await yieldToEventLoop();
      if (!(await passes.matches(event))) continue;
      yield await session.view(event);
    }
  }

  /** A position this store issued, and not past the end of the ledger. */
  private async checkPosition(position: string, field: string): Promise<void> {
    if (!this.store.isPosition(position)) {
      throw invalidPosition(field, `${field} must be a position (an event id) this ledger issued`);
    }
    const last = await this.store.lastPosition();
    if (last !== undefined && this.store.comparePositions(position, last) > 0) {
      throw invalidPosition(field, `${field} ${position} is past the end of the ledger (last position ${last})`);
    }
  }
}

function invalidPosition(field: string, detail: string): DomainError {
  return new DomainError('invalid', 'request.invalid', `invalid request: ${field}`, [
    { field, problem: 'invalid', detail },
  ]);
}
