import { EventStoreDBClient, type BaseOptions, type StreamingRead } from '@eventstore/db-client';

/**
 * The one EventStoreDB client of a process, and what every user of it shares.
 * This file and `eventstoredb.errors.ts` are the adapter's public pieces: the
 * key store (`crypto/`) uses them; nothing else of the adapter is meant to be
 * imported from outside this folder.
 *
 * Why one client: `@eventstore/db-client` 6 keeps a single, module-wide table
 * of pending batch appends, and an error or a `dispose()` on any client's
 * append stream rejects every pending append in that table, whichever client
 * made it. Two clients (event store and key store) would fail each other's
 * writes. So `stores/` builds one with `openEventStoreDbClient`, hands it to
 * both stores, and disposes it once after both are closed; the stores never
 * dispose it.
 */
export type EventStoreDbClient = EventStoreDBClient;

/**
 * Builds the shared client from a connection string. No connection is made
 * until the first call.
 * @throws Error for `throwOnAppendFailure=false`: the client would then
 *   report a refused append as a result with `success: false` instead of an
 *   error, and a store that missed it would call the append written.
 */
export function openEventStoreDbClient(connectionString: string): EventStoreDbClient {
  if (settings(connectionString).get('throwonappendfailure') === 'false') {
    throw new Error(
      'EVENTSTORE_CONNECTION_STRING sets throwOnAppendFailure=false, which the ledger refuses: a refused append must be an error, never a result',
    );
  }
  return EventStoreDBClient.connectionString(connectionString);
}

/**
 * Options for every read and subscription. The ledger reads what it has
 * just written (the head of a chain before the next append, a key right
 * after creating it, its own events for read-your-writes), so reads go to
 * the leader: with `nodePreference=follower` a follower could still lack an
 * acknowledged write. A read that reaches a follower fails with NotLeader
 * (retryable) and the client reconnects to the leader.
 */
export const LEADER_READ = {
  requiresLeader: true,
} as const satisfies BaseOptions;

/**
 * The user the connection string authenticates as (`esdb://user:pass@…`),
 * or undefined; `stores/` grants it access to the key streams' ACL.
 */
export function connectionUser(connectionString: string): string | undefined {
  const user = CREDENTIALS.exec(connectionString.trim())?.[1];
  return user === undefined ? undefined : decodeURIComponent(user.trim());
}

/** `scheme://user:password@`, read as the client reads it (the password may hold `?` or `/`). */
const CREDENTIALS = /^[^:]+:\/\/([^:]+):[^@]+@/;

/**
 * The `?key=value&…` settings of a connection string, keys in the client's
 * own "flat case" (trimmed, lower case, without `-` and `_`), values trimmed.
 * The client keeps what it parsed in protected members, so a setting the
 * ledger refuses is read here, from the string, before any client exists.
 */
function settings(connectionString: string): Map<string, string> {
  const text = connectionString.trim().replace(CREDENTIALS, '');
  const query = text.includes('?') ? text.slice(text.indexOf('?') + 1) : '';
  return new Map(
    query
      .split('&')
      .map((pair) => pair.split('='))
      .flatMap(([key, value]) =>
        key === undefined || value === undefined
          ? []
          : [[key.trim().toLowerCase().replace(/[_-]/g, ''), value.trim()] as const],
      ),
  );
}

/**
 * Iterates a read and cancels the server-side call if the consumer stops
 * early, so a `break` never leaves a gRPC stream open.
 */
export async function* iterateRead<T>(read: StreamingRead<T>): AsyncGenerator<T, void, undefined> {
  let finished = false;
  try {
    for await (const item of read) yield item;
    finished = true;
  } finally {
    // Cancelling a call that failed to start rejects; there is nothing left to stop then.
    if (!finished) await read.cancel().catch(() => undefined);
  }
}
