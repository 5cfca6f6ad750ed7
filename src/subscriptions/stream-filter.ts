import { LRUCache } from 'lru-cache';
import type { StoredEvent } from '../event-store/event-envelope.js';
import type { EventStore } from '../event-store/event-store.port.js';
import { siteIdOfStream } from '../event-store/ledger-streams.js';
import { operationLinkOf, operationOf, operationsOfStream } from '../ledger/operation-link.js';

/** What GET /v1/events/stream lets through; every given part must hold (AND). */
export interface StreamFilter {
  /** Any of these types. */
  types?: ReadonlySet<string>;
  /** The site's own stream. */
  siteId?: string;
  /** The operation's events, by the audit's rule (operationLinkOf). */
  operationId?: string;
}

/** Site events of the filtered operation remembered by one stream, so a later restore of one needs no read. */
const REMEMBERED_SITE_EVENTS = 10_000;

/**
 * Applies a StreamFilter to one subscription's events, in global order.
 * A restore names only the deletion it compensates: when that deletion went
 * by on this stream it is remembered; otherwise (it was committed before
 * `from`, or long ago) the site's stream is read up to the restore to find
 * whose it was. Restores are rare, so that read is too.
 */
export class StreamFilterSession {
  private readonly ofOperation = new LRUCache<string, true>({ max: REMEMBERED_SITE_EVENTS });

  constructor(
    private readonly filter: StreamFilter,
    private readonly store: EventStore,
  ) {}

  async matches(event: StoredEvent): Promise<boolean> {
    const { types, siteId, operationId } = this.filter;
    if (types !== undefined && !types.has(event.type)) return false;
    if (siteId !== undefined && siteIdOfStream(event.streamId) !== siteId) return false;
    if (operationId === undefined) return true;
    const owner = operationOf(event, (earlier) => (this.ofOperation.has(earlier) ? operationId : undefined));
    const belongs = owner === operationId || (owner === undefined && (await this.compensatesOperation(event)));
    if (belongs && siteIdOfStream(event.streamId) !== undefined) this.ofOperation.set(event.eventId, true);
    return belongs;
  }

  /** Whether the event undoes one of the filtered operation's that this stream did not see. */
  private async compensatesOperation(event: StoredEvent): Promise<boolean> {
    const link = operationLinkOf(event);
    if (link.kind !== 'compensation') return false;
    const earlier = await this.store.readStream(event.streamId, { toVersion: event.version - 1 });
    return operationsOfStream(earlier).get(link.compensates) === this.filter.operationId;
  }
}
