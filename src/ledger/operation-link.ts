import type { StoredEvent } from '../event-store/event-envelope.js';
import { operationIdOfStream, siteIdOfStream } from '../event-store/ledger-streams.js';

type LinkedEvent = Pick<StoredEvent, 'streamId' | 'metadata'>;

/**
 * How an event belongs to a deletion operation — the one rule behind every
 * `operationId` filter (the audit's and the event stream's):
 *
 * - `operation`: it says so itself. An operation's own events are in its
 *   stream; the site events it causes (a wave's SiteSoftDeleted, a
 *   rollback's SiteRestored) carry its id in their metadata.
 * - `compensation`: a site event that undoes another (a restore an operator
 *   made by hand names only the SiteSoftDeleted it compensates) belongs to
 *   the operation that earlier event of the same site belongs to.
 * - `none`: it belongs to no operation.
 */
export type OperationLink =
  { kind: 'operation'; operationId: string } | { kind: 'compensation'; compensates: string } | { kind: 'none' };

export function operationLinkOf(event: LinkedEvent): OperationLink {
  const { operationId, compensates } = event.metadata;
  if (operationId !== undefined) return { kind: 'operation', operationId };
  const ofStream = operationIdOfStream(event.streamId);
  if (ofStream !== undefined) return { kind: 'operation', operationId: ofStream };
  if (compensates !== undefined && siteIdOfStream(event.streamId) !== undefined) {
    return { kind: 'compensation', compensates };
  }
  return { kind: 'none' };
}

/**
 * The operation an event belongs to, given the operation of an earlier
 * event by its id (as far as the reader knows it: the audit keeps an index,
 * the event stream reads the site's stream).
 */
export function operationOf(
  event: LinkedEvent,
  operationOfEarlier: (eventId: string) => string | undefined,
): string | undefined {
  const link = operationLinkOf(event);
  switch (link.kind) {
    case 'operation':
      return link.operationId;
    case 'compensation':
      return operationOfEarlier(link.compensates);
    case 'none':
      return undefined;
    default: {
      const unhandled: never = link;
      throw new Error(`unhandled operation link ${JSON.stringify(unhandled)}`);
    }
  }
}

/** The operation of each event of one stream that belongs to one, read oldest first. */
export function operationsOfStream(events: readonly (LinkedEvent & { eventId: string })[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const event of events) {
    const operationId = operationOf(event, (earlier) => found.get(earlier));
    if (operationId !== undefined) found.set(event.eventId, operationId);
  }
  return found;
}
