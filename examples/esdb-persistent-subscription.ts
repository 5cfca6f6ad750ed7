/**
 * A downstream service following the ledger natively on EventStoreDB: a
 * persistent subscription group on $all, filtered to the ledger's streams,
 * acknowledging each event once handled. The server keeps the group's
 * position, so the service resumes where it left off after a restart, and
 * several instances of it share the work.
 *
 * Here the service is a data-erasure worker (SPEC §2): it deletes a site's
 * copies elsewhere once the ledger says the site was purged. Billing, search
 * or backup services look the same with another `handle`.
 *
 *   EVENTSTORE_CONNECTION_STRING='esdb://localhost:2113?tls=false' \
 *     node --experimental-strip-types examples/esdb-persistent-subscription.ts
 *
 * It is an example: `npm run typecheck` checks it, no test runs it.
 */
import {
  EventStoreDBClient,
  PARK,
  PINNED,
  PersistentSubscriptionExistsError,
  RETRY,
  START,
  persistentSubscriptionToAllSettingsFromDefaults,
  streamNameFilter,
  type PersistentSubscriptionToAllResolvedEvent,
} from '@eventstore/db-client';

/**
 * The ledger's streams (src/event-store/ledger-streams.ts). Never a wider
 * prefix: `sitekey-` streams hold the sites' data keys and `$` streams are
 * the server's own.
 */
const LEDGER_STREAM_PREFIXES = ['site-', 'operation-', 'policy-'];
const GROUP = process.env['SUBSCRIPTION_GROUP'] ?? 'erasure-worker';
/** Deliveries of one event before it is parked for a person to look at. */
const MAX_ATTEMPTS = 5;

/** A ledger event as the ledger's own API shows it (`GET /v1/audit/events`). */
interface LedgerEvent {
  eventId: string;
  type: string;
  streamId: string;
  /** 1 for a stream's first event. */
  version: number;
  /** EventStoreDB commit position, as the ledger writes positions. */
  position: string;
  data: Record<string, unknown>;
  metadata: { actor: string; occurredAt: string; operationId?: string; reason?: string; [key: string]: unknown };
  prevHash: string;
  hash: string;
}

/**
 * The ledger stores data as the event's JSON data and the rest of its
 * envelope in the event's JSON metadata: `{actor, occurredAt, …, prevHash, hash}`.
 * Contacts stay sealed (`{sealed: "v1.…"}`): only the ledger holds the keys.
 */
function toLedgerEvent(resolved: PersistentSubscriptionToAllResolvedEvent): LedgerEvent | undefined {
  const event = resolved.event;
  if (event === undefined || !event.isJson) return undefined;
  const { prevHash, hash, ...metadata } = event.metadata as LedgerEvent['metadata'] & {
    prevHash: string;
    hash: string;
  };
  return {
    eventId: event.id,
    type: event.type,
    streamId: event.streamId,
    version: Number(event.revision) + 1,
    position: event.position.commit.toString(),
    data: event.data as Record<string, unknown>,
    metadata,
    prevHash,
    hash,
  };
}

/**
 * Must be idempotent: a persistent subscription delivers at least once (an
 * event whose ack was lost comes again), so the eventId is the key of the work.
 */
async function handle(event: LedgerEvent): Promise<void> {
  switch (event.type) {
    case 'SitePurged':
      console.log(
        `${event.metadata.occurredAt} erase copies of site ${String(event.data['siteId'])} (event ${event.eventId})`,
      );
      return;
    case 'SiteSoftDeleted':
    case 'SiteRestored':
      console.log(
        `${event.metadata.occurredAt} ${event.type} ${String(event.data['siteId'])} by ${event.metadata.actor}`,
      );
      return;
    default:
      return; // not this service's business
  }
}

/** Creates the group once; every later start (and every other instance) finds it. */
async function ensureGroup(client: EventStoreDBClient): Promise<void> {
  try {
    await client.createPersistentSubscriptionToAll(
      GROUP,
      persistentSubscriptionToAllSettingsFromDefaults({
        startFrom: START, // a new group reads the whole ledger first
        resolveLinkTos: false,
        // A site's events go to one consumer, in order, even with several instances.
        consumerStrategyName: PINNED,
        maxRetryCount: MAX_ATTEMPTS,
      }),
      { filter: streamNameFilter({ prefixes: LEDGER_STREAM_PREFIXES }) },
    );
    console.log(`created persistent subscription group ${GROUP} on $all`);
  } catch (error) {
    if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
  }
}

async function main(): Promise<void> {
  const client = EventStoreDBClient.connectionString(
    process.env['EVENTSTORE_CONNECTION_STRING'] ?? 'esdb://localhost:2113?tls=false',
  );
  await ensureGroup(client);
  const subscription = client.subscribeToPersistentSubscriptionToAll(GROUP);
  const stop = () => void subscription.unsubscribe();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  for await (const resolved of subscription) {
    const event = toLedgerEvent(resolved);
    try {
      if (event !== undefined) await handle(event);
      await subscription.ack(resolved);
    } catch (error) {
      // Retry a few times, then park it: parked events wait in the group's parked stream for replay.
      const action = resolved.retryCount + 1 < MAX_ATTEMPTS ? RETRY : PARK;
      await subscription.nack(action, error instanceof Error ? error.message : String(error), resolved);
    }
  }
  await client.dispose();
}

await main();
