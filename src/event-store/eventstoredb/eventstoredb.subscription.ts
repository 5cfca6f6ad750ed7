import { START, streamNameFilter, type Position } from '@eventstore/db-client';
import type { StoredEvent } from '../event-envelope.js';
import { EventStoreUnavailableError } from '../event-store.errors.js';
import { LEADER_READ, type EventStoreDbClient } from './eventstoredb.client.js';
import type { EventStoreDbRecord } from './eventstoredb.codec.js';
import { toPortError } from './eventstoredb.errors.js';
import { compareLogPositions, encodeEventStoreDbPosition } from './eventstoredb.positions.js';

export interface LedgerSubscriptionSource {
  client: EventStoreDbClient;
  /** The ledger's stream prefixes; the server filters by them. */
  prefixes: readonly string[];
  /** Deliver events after this log position; undefined: from the start. */
  after: Position | undefined;
  signal: AbortSignal | undefined;
  /** Whether the store was closed (which ends the subscription quietly). */
  isClosed(): boolean;
  /** Running server subscriptions, so that closing the store can end them. */
  track: Set<{ unsubscribe(): Promise<void> }>;
  /** The ledger event of a record, or undefined for a skipped system record. */
  decode(record: EventStoreDbRecord): StoredEvent | undefined;
  warn(message: string): void;
}

/**
 * `subscribeAll` on EventStoreDB: one gRPC catch-up subscription to `$all`,
 * filtered by stream prefix on the server, and a new one after the last
 * position delivered whenever the server ends it.
 *
 * The server may end a subscription on its own: some versions answer a
 * consumer that falls behind their small live buffer by dropping it
 * ("consumer too slow"; 32 events on 23.10), and some swallow an exception
 * and end the call with OK. An end that neither the signal nor `close()`
 * asked for is therefore never taken as the end of the ledger: if the
 * subscription delivered anything, it is resumed after its last event; if it
 * delivered nothing (a server that keeps refusing), it fails with
 * `EventStoreUnavailableError`, and so does a transient error, for the
 * consumer to retry later. Any other error fails as the port's error.
 */
export async function* ledgerSubscription(
  source: LedgerSubscriptionSource,
): AsyncGenerator<StoredEvent, void, undefined> {
  const { client, signal } = source;
  let after = source.after;
  const stopped = () => signal?.aborted === true || source.isClosed();
  for (let round = 1; !stopped(); round += 1) {
    const subscription = client.subscribeToAll({
      ...LEADER_READ,
      fromPosition: after ?? START,
      resolveLinkTos: false,
      filter: streamNameFilter({ prefixes: [...source.prefixes] }),
    });
    source.track.add(subscription);
    // Unsubscribing ends the gRPC call, which ends the loop below.
    const stop = () => void subscription.unsubscribe().catch(() => undefined);
    signal?.addEventListener('abort', stop, { once: true });
    let delivered = false;
    let failure: unknown;
    try {
      for await (const { event } of subscription) {
        if (stopped()) return;
        // The server filters by prefix already; checking again keeps key
        // streams out even if a server ignored the filter.
        if (!event || !source.prefixes.some((p) => event.streamId.startsWith(p))) continue;
        // A subscription from a position starts with the record at it.
        if (after !== undefined && compareLogPositions(event.position, after) <= 0) continue;
        const stored = source.decode(event);
        after = event.position;
        delivered = true;
        if (stored) yield stored;
      }
    } catch (error) {
      failure = error;
    } finally {
      signal?.removeEventListener('abort', stop);
      source.track.delete(subscription);
      await subscription.unsubscribe().catch(() => undefined);
    }
    if (stopped()) return;
    const position = after === undefined ? undefined : encodeEventStoreDbPosition(after);
    const error =
      failure === undefined
        ? new EventStoreUnavailableError(
            `EventStoreDB ended the subscription to $all without being asked to${position === undefined ? '' : ` (after ${position})`}`,
          )
        : toPortError(failure, {
            action: 'subscribing to $all',
            // Only the caller's own position can be a bad one.
            ...(round === 1 && !delivered && position !== undefined ? { position } : {}),
          });
    if (!(delivered && error instanceof EventStoreUnavailableError)) throw error;
    source.warn(
      `${error instanceof Error ? error.message : String(error)}; resubscribing after ${position ?? 'the start'}`,
    );
  }
}
