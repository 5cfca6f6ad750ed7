import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  isCommandError,
  jsonEvent,
  streamNameFilter,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type Position,
  type StreamingRead,
} from '@eventstore/db-client';
import type { JsonObject } from '../../common/json.js';
import { checkAppends, readAllLimit, streamRange } from '../adapter-kit.js';
import {
  EMPTY_STREAM_HEAD,
  chainEvents,
  type ChainedEvent,
  type EventMetadata,
  type NewEvent,
  type StoredEvent,
  type StreamHead,
} from '../event-envelope.js';
import {
  EventStoreUnavailableError,
  WrongExpectedVersionError,
} from '../event-store.errors.js';
import type {
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
  SubscribeAllOptions,
} from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';

/**
 * Streams that hold site data keys (`EventStoreDbKeyStore`). They share the
 * server with the ledger but must never show up in its global order.
 */
export const SITE_KEY_STREAM_PREFIX = 'sitekey-';

/** A connection string (`esdb://host:2113?tls=false`) or a client someone else owns. */
export type EventStoreDbConnection = string | EventStoreDBClient;

/**
 * The client for `connection`. A client built here from a connection string
 * is `owned` (the caller disposes it on close); a client passed in belongs to
 * whoever passed it, so the event store and the key store can share one.
 */
export function eventStoreDbClient(connection: EventStoreDbConnection): {
  client: EventStoreDBClient;
  owned: boolean;
} {
  return typeof connection === 'string'
    ? { client: EventStoreDBClient.connectionString(connection), owned: true }
    : { client: connection, owned: false };
}

/**
 * Global positions of this adapter: the event's EventStoreDB **commit
 * position**, in decimal.
 *
 * Why the commit position alone is enough (checked against the server
 * source, EventStore/EventStore and kurrent-io/KurrentDB):
 * - `StorageWriterService.WritePrepares` writes every event of one append as
 *   its own prepare record flagged `IsCommitted` (the first also
 *   `TransactionBegin`, the last `TransactionEnd`); there is no separate
 *   commit record.
 * - `AllReader.ReadAllEventsForward` returns such a self-committed prepare
 *   with commit position = prepare position = that record's own log
 *   position. So events appended in one call still get distinct, increasing
 *   commit positions, and `prepare === commit` for each.
 * - Only explicit transactions (a TCP-API feature this gRPC client does not
 *   offer) put several events under one commit position with different
 *   prepare positions. This adapter never writes them; ledger streams hold
 *   nothing else.
 * - The append result's position is the `CommitAck` of the `TransactionEnd`
 *   prepare (`StorageChaser`), i.e. the last appended event's position; and
 *   since server 22.6 stream reads carry the same position for events not
 *   written in explicit transactions (KurrentDB PR #3459).
 *
 * Positions are compared as bigints: log positions are 64-bit, and "9" > "10"
 * as strings. To resume after a
 * position `c` the adapter asks the server for `{ commit: c, prepare: c }`;
 * forward `$all` reads are inclusive of that position ("for forward pass
 * position is inclusive" in `AllReader`), so the event at `c` is dropped here,
 * which also covers a subscription that does or does not include it.
 */
export function encodeEventStoreDbPosition(position: Position): string {
  return position.commit.toString(10);
}

/** The commit position `position` stands for; throws on anything this adapter did not issue. */
export function decodeEventStoreDbPosition(position: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(position)) {
    throw new RangeError(
      `not an EventStoreDB position: ${JSON.stringify(position)}`,
    );
  }
  return BigInt(position);
}

/** Orders two positions issued by this adapter (<0, 0, >0), as numbers, never as strings. */
export function compareEventStoreDbPositions(a: string, b: string): number {
  const left = decodeEventStoreDbPosition(a);
  const right = decodeEventStoreDbPosition(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Where to point a forward `$all` read or subscription to resume at `position`. */
function resumePoint(commit: bigint): Position {
  return { commit, prepare: commit };
}

/**
 * What the server holds for one ledger event. EventStoreDB keeps id, type,
 * data and its own revision; the rest of our envelope rides in the event's
 * metadata as `{ ...metadata, prevHash, hash }`, so a read gives back exactly
 * the `ChainedEvent` that was written and an operator browsing the stream in
 * the EventStoreDB UI sees actor, time and chain links in plain JSON.
 */
export function toEventStoreDbEvent(event: ChainedEvent): EventData {
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata, prevHash: event.prevHash, hash: event.hash },
  });
}

/** The fields of an EventStoreDB recorded event that this adapter reads. */
export interface EventStoreDbRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  /** Present on `$all` reads and, from server 22.6 on, on stream reads. */
  position?: Position;
}

/** Thrown when a ledger stream holds something this adapter did not write. */
export class ForeignEventError extends Error {
  constructor(record: EventStoreDbRecord, problem: string) {
    super(
      `${record.streamId}@${record.revision} (${record.id}) is not a ledger event: ${problem}`,
    );
    this.name = 'ForeignEventError';
  }
}

/**
 * 2^64 - 1: the position a server sends when it has none to give (stream
 * reads before 22.6, events written in explicit transactions).
 */
const NO_POSITION = 18_446_744_073_709_551_615n;

/** Rebuilds our stored event from what the server returned; the inverse of `toEventStoreDbEvent`. */
export function fromEventStoreDbRecord(
  record: EventStoreDbRecord,
): StoredEvent {
  if (!record.isJson || !isJsonObject(record.data)) {
    throw new ForeignEventError(record, 'data is not a JSON object');
  }
  if (!isJsonObject(record.metadata)) {
    throw new ForeignEventError(record, 'metadata is not a JSON object');
  }
  const { prevHash, hash, ...metadata } = record.metadata;
  if (typeof prevHash !== 'string' || typeof hash !== 'string') {
    throw new ForeignEventError(record, 'metadata lacks prevHash/hash');
  }
  if (!isEventMetadata(metadata)) {
    throw new ForeignEventError(
      record,
      'metadata lacks actor/occurredAt/correlationId/causationId',
    );
  }
  const position = record.position;
  if (position === undefined || position.commit === NO_POSITION) {
    throw new ForeignEventError(
      record,
      'the server sent no log position (stream reads carry one from EventStoreDB 22.6 on)',
    );
  }
  return {
    streamId: record.streamId,
    version: versionAfter(record.revision),
    eventId: record.id,
    type: record.type,
    data: record.data,
    metadata,
    prevHash,
    hash,
    position: encodeEventStoreDbPosition(position),
  };
}

/**
 * A plain object. Only applied to values the client produced with
 * `JSON.parse`, so every member is already a JSON value.
 */
function isJsonObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

function isEventMetadata(
  value: Record<string, unknown>,
): value is EventMetadata & Record<string, unknown> {
  const optionalString = (key: string) =>
    value[key] === undefined || typeof value[key] === 'string';
  return (
    typeof value.actor === 'string' &&
    typeof value.occurredAt === 'string' &&
    typeof value.correlationId === 'string' &&
    (value.causationId === null || typeof value.causationId === 'string') &&
    ['operationId', 'reason', 'ticket', 'compensates'].every(optionalString)
  );
}

/** Our version after ESDB revision `revision` (revisions count from 0, versions from 1). */
const versionAfter = (revision: bigint): number => Number(revision) + 1;

/** The ESDB expectation for "the stream is at our version `version`". */
const expectedRevisionFor = (version: number): AppendExpectedRevision =>
  version === 0 ? NO_STREAM : BigInt(version - 1);

/**
 * Iterates a read and cancels the server-side call if the consumer stops
 * early, so a `break` never leaves a gRPC stream open.
 */
export async function* iterateRead<T>(
  read: StreamingRead<T>,
): AsyncGenerator<T, void, undefined> {
  let finished = false;
  try {
    for await (const item of read) yield item;
    finished = true;
  } finally {
    // Cancelling a call that failed to start rejects; there is nothing left to stop then.
    if (!finished) await read.cancel().catch(() => undefined);
  }
}

/**
 * Turns a driver error that means "the store cannot serve this now" into the
 * port's `EventStoreUnavailableError`; callers never see driver types. Errors
 * this adapter interprets itself (wrong expected version, missing stream) are
 * handled before this is called; anything that is not the driver's (a bug
 * here, a bad argument) passes through unchanged.
 */
export function toStoreError(error: unknown, action: string): unknown {
  if (!(error instanceof Error)) return error;
  if (isCommandError(error)) {
    return new EventStoreUnavailableError(
      `EventStoreDB ${action} failed (${error.type}): ${error.message}`,
      {
        cause: error,
      },
    );
  }
  // Raw gRPC status errors (a broken append stream) and failed cluster discovery.
  const grpcStatus =
    'code' in error && typeof error.code === 'number' && 'details' in error;
  if (grpcStatus || error.message.startsWith('Failed to discover')) {
    return new EventStoreUnavailableError(
      `EventStoreDB ${action} failed: ${error.message}`,
      { cause: error },
    );
  }
  return error;
}

const PING_TIMEOUT_MS = 5_000;

const CANONICAL_UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A stream's head plus where its last event sits in the global order. */
interface HeadAt extends StreamHead {
  position: string | undefined;
}

const EMPTY_HEAD_AT: HeadAt = { ...EMPTY_STREAM_HEAD, position: undefined };

export interface EventStoreDbEventStoreOptions {
  /**
   * Only streams whose names start with one of these appear in `readAll`,
   * `lastPosition` and `subscribeAll` (default: the ledger's streams). None
   * may expose `$` system streams or `sitekey-` key streams.
   */
  streamPrefixes?: readonly string[];
}

/**
 * The ledger on EventStoreDB (gRPC, `@eventstore/db-client` 6). Stream ids are
 * EventStoreDB stream names, one to one.
 *
 * - Versions: ESDB revision r is our version r + 1; expecting version 0 is
 *   `NO_STREAM`, version n is revision n - 1.
 * - Every append reads the stream's last event first: the chain needs its
 *   hash. The append itself still carries the expected revision, so a writer
 *   that slips in between loses with `WrongExpectedVersionError`.
 * - `appendMany` is not atomic: EventStoreDB commits one stream per call (see
 *   the port). It checks every stream's version before writing any, which
 *   narrows, but cannot close, the window for a partial write.
 * - `readAll`/`lastPosition` filter stream names on the client: this client
 *   version offers no server-side filter for reads (only for subscriptions).
 * - Positions: see `encodeEventStoreDbPosition`.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;

  private readonly client: EventStoreDBClient;
  private readonly ownsClient: boolean;
  private readonly prefixes: readonly string[];
  private readonly subscriptions = new Set<AllStreamSubscription>();
  private closed = false;

  constructor(
    connection: EventStoreDbConnection,
    options: EventStoreDbEventStoreOptions = {},
  ) {
    const { client, owned } = eventStoreDbClient(connection);
    this.client = client;
    this.ownsClient = owned;
    this.prefixes = [...(options.streamPrefixes ?? LEDGER_STREAM_PREFIXES)];
    for (const prefix of this.prefixes) {
      const exposesKeys =
        SITE_KEY_STREAM_PREFIX.startsWith(prefix) ||
        prefix.startsWith(SITE_KEY_STREAM_PREFIX);
      if (prefix === '' || prefix.startsWith('$') || exposesKeys) {
        throw new RangeError(
          `stream prefix ${JSON.stringify(prefix)} would expose system or key streams`,
        );
      }
    }
  }

  async append(
    streamId: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): Promise<AppendResult> {
    this.assertOpen();
    assertWritable([{ streamId, expectedVersion, events }]);
    const head = await this.headOf(streamId);
    if (head.version !== expectedVersion) {
      throw new WrongExpectedVersionError(
        streamId,
        expectedVersion,
        head.version,
      );
    }
    return this.write(streamId, head, chainEvents(streamId, head, events));
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    this.assertOpen();
    assertWritable(appends);
    // Check every version before the first write; a stream named twice
    // continues from where its earlier part leaves it.
    const distinct = [...new Set(appends.map(({ streamId }) => streamId))];
    const fetched = await Promise.all(
      distinct.map((streamId) => this.headOf(streamId)),
    );
    const heads = new Map(
      distinct.map((streamId, index) => [
        streamId,
        fetched[index] ?? EMPTY_HEAD_AT,
      ]),
    );
    const planned = appends.map(({ streamId, expectedVersion, events }) => {
      const head = heads.get(streamId) ?? EMPTY_HEAD_AT;
      if (head.version !== expectedVersion) {
        throw new WrongExpectedVersionError(
          streamId,
          expectedVersion,
          head.version,
        );
      }
      const chained = chainEvents(streamId, head, events);
      const last = chained.at(-1);
      if (last)
        heads.set(streamId, {
          version: last.version,
          hash: last.hash,
          position: undefined,
        });
      return { streamId, head, chained };
    });
    const results: AppendResult[] = [];
    const written = new Map<string, AppendResult>();
    for (const { streamId, head, chained } of planned) {
      // An empty part after a written one of the same stream ends where that one did.
      const earlier = written.get(streamId);
      const result =
        chained.length === 0 && earlier
          ? earlier
          : await this.write(streamId, head, chained);
      written.set(streamId, result);
      results.push(result);
    }
    return results;
  }

  async streamVersion(streamId: string): Promise<number> {
    this.assertOpen();
    return (await this.headOf(streamId)).version;
  }

  async readStream(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<StoredEvent[]> {
    this.assertOpen();
    const { afterVersion, toVersion, toTimeMs, limit } = streamRange(options);
    const maxCount = Math.min(
      toVersion - afterVersion,
      limit < 0 ? Number.MAX_SAFE_INTEGER : limit,
    );
    if (maxCount <= 0) return [];

    const events: StoredEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: BigInt(afterVersion),
        maxCount,
      });
      for await (const { event } of iterateRead(read)) {
        if (!event) continue;
        const stored = fromEventStoreDbRecord(event);
        // occurredAt grows along a stream, so the first later event ends the read.
        if (Date.parse(stored.metadata.occurredAt) > toTimeMs) break;
        events.push(stored);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw toStoreError(error, `reading ${streamId}`);
    }
    return events;
  }

  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    this.assertOpen();
    const limit = readAllLimit(options.limit);
    if (limit === 0) return [];
    const after =
      options.after === undefined
        ? undefined
        : decodeEventStoreDbPosition(options.after);

    const events: StoredEvent[] = [];
    try {
      // No maxCount: system events in between do not count towards `limit`,
      // so read on (with gRPC flow control) and cancel once the page is full.
      const read = this.client.readAll({
        direction: FORWARDS,
        fromPosition: after === undefined ? START : resumePoint(after),
        resolveLinkTos: false,
      });
      for await (const { event } of iterateRead(read)) {
        if (!event || !this.isLedgerStream(event.streamId)) continue;
        if (after !== undefined && event.position.commit <= after) continue;
        events.push(fromEventStoreDbRecord(event));
        if (events.length === limit) break;
      }
    } catch (error) {
      throw toStoreError(error, 'reading $all');
    }
    return events;
  }

  subscribeAll(options: SubscribeAllOptions = {}): AsyncIterable<StoredEvent> {
    // Checked now, not at the first next(): a bad position is the caller's bug.
    const after =
      options.after === undefined
        ? undefined
        : decodeEventStoreDbPosition(options.after);
    return this.subscription(after, options.signal);
  }

  /**
   * Catch-up then live, as one gRPC subscription filtered by stream prefix on
   * the server. A subscription the server or network drops ends with
   * `EventStoreUnavailableError`; resubscribe after the last position seen.
   */
  private async *subscription(
    after: bigint | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<StoredEvent, void, undefined> {
    if (signal?.aborted || this.closed) return;

    const subscription = this.client.subscribeToAll({
      fromPosition: after === undefined ? START : resumePoint(after),
      resolveLinkTos: false,
      filter: streamNameFilter({ prefixes: [...this.prefixes] }),
    });
    this.subscriptions.add(subscription);
    // Unsubscribing ends the gRPC call, which ends the loop below.
    const stop = () => void subscription.unsubscribe().catch(() => undefined);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const { event } of subscription) {
        if (signal?.aborted) return;
        // The server filters by prefix already; checking again keeps key
        // streams out even if a server ignored the filter.
        if (!event || !this.isLedgerStream(event.streamId)) continue;
        if (after !== undefined && event.position.commit <= after) continue;
        yield fromEventStoreDbRecord(event);
      }
    } catch (error) {
      if (signal?.aborted || this.closed) return;
      throw toStoreError(error, 'subscribing to $all');
    } finally {
      signal?.removeEventListener('abort', stop);
      this.subscriptions.delete(subscription);
      await subscription.unsubscribe().catch(() => undefined);
    }
  }

  async lastPosition(): Promise<string | undefined> {
    this.assertOpen();
    try {
      const read = this.client.readAll({
        direction: BACKWARDS,
        fromPosition: END,
        resolveLinkTos: false,
      });
      for await (const { event } of iterateRead(read)) {
        if (event && this.isLedgerStream(event.streamId))
          return encodeEventStoreDbPosition(event.position);
      }
    } catch (error) {
      throw toStoreError(error, 'reading the end of $all');
    }
    return undefined;
  }

  comparePositions(a: string, b: string): number {
    return compareEventStoreDbPositions(a, b);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    // The permission readAll needs, one record. Streaming reads ignore the
    // client's deadline option, so the time limit is kept here.
    const read = this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
    });
    const answered = (async () => {
      for await (const _record of read) break;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new EventStoreUnavailableError(
              `EventStoreDB did not answer within ${PING_TIMEOUT_MS} ms`,
            ),
          ),
        PING_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([answered, timedOut]);
    } catch (error) {
      const translated = toStoreError(error, 'ping');
      throw translated instanceof EventStoreUnavailableError
        ? translated
        : new EventStoreUnavailableError(
            `EventStoreDB ping failed: ${String(error)}`,
            { cause: error },
          );
    } finally {
      clearTimeout(timer);
      // The read may still be pending after a timeout; end it and drop its outcome.
      answered.catch(() => undefined);
      await read.cancel().catch(() => undefined);
    }
  }

  /** Idempotent. Running subscriptions end; later calls fail with EventStoreUnavailableError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.subscriptions].map((subscription) =>
        subscription.unsubscribe().catch(() => undefined),
      ),
    );
    if (this.ownsClient) await this.client.dispose();
  }

  private assertOpen(): void {
    if (this.closed)
      throw new EventStoreUnavailableError(
        'the EventStoreDB event store is closed',
      );
  }

  private isLedgerStream(streamName: string): boolean {
    return this.prefixes.some((prefix) => streamName.startsWith(prefix));
  }

  /** The stream's last version, hash and position; a missing stream is at the genesis head. */
  private async headOf(streamId: string): Promise<HeadAt> {
    try {
      const read = this.client.readStream(streamId, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      });
      for await (const { event } of iterateRead(read)) {
        if (!event) continue;
        const last = fromEventStoreDbRecord(event);
        return {
          version: last.version,
          hash: last.hash,
          position: last.position,
        };
      }
      return EMPTY_HEAD_AT;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return EMPTY_HEAD_AT;
      throw toStoreError(error, `reading the head of ${streamId}`);
    }
  }

  /** Appends events already sealed onto `head`, expecting the stream to still be there. */
  private async write(
    streamId: string,
    head: HeadAt,
    chained: readonly ChainedEvent[],
  ): Promise<AppendResult> {
    if (chained.length === 0) {
      // Nothing appended: the version check is all an empty append does. "0"
      // precedes every real position, for a stream that has no events yet.
      return {
        streamId,
        nextVersion: head.version,
        position: head.position ?? '0',
      };
    }
    try {
      const result = await this.client.appendToStream(
        streamId,
        chained.map(toEventStoreDbEvent),
        {
          expectedRevision: expectedRevisionFor(head.version),
        },
      );
      const nextVersion = versionAfter(result.nextExpectedRevision);
      const position = result.position
        ? encodeEventStoreDbPosition(result.position)
        : // The protocol makes the position optional; read it back rather than guess.
          ((await this.headOf(streamId)).position ?? '0');
      return { streamId, nextVersion, position };
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) {
        const actual =
          versionOf(error.actualVersion) ??
          (await this.streamVersion(streamId));
        throw new WrongExpectedVersionError(streamId, head.version, actual);
      }
      throw toStoreError(error, `appending to ${streamId}`);
    }
  }
}

/** Our version for ESDB's "current revision", if the error carried one. */
function versionOf(current: CurrentRevision | undefined): number | undefined {
  if (current === NO_STREAM) return 0;
  return typeof current === 'bigint' ? versionAfter(current) : undefined;
}

/**
 * The checks every adapter makes (versions, times, ids distinct within the
 * call) plus EventStoreDB's own: no system or key streams, and ids the server
 * gives back unchanged. Ids are not checked against other streams: the server
 * has no index for that, so ledger-wide uniqueness rests on random UUIDs.
 */
function assertWritable(appends: readonly StreamAppend[]): void {
  checkAppends(appends);
  for (const { streamId, events } of appends) {
    if (
      streamId === '' ||
      streamId.startsWith('$') ||
      streamId.startsWith(SITE_KEY_STREAM_PREFIX)
    ) {
      throw new RangeError(
        `${JSON.stringify(streamId)} is not a ledger stream`,
      );
    }
    for (const { eventId } of events) {
      // The server stores ids as GUIDs and hands them back lowercase; any
      // other spelling would come back changed and break the event's hash.
      if (!CANONICAL_UUID.test(eventId)) {
        throw new RangeError(
          `eventId must be a lowercase UUID on EventStoreDB, not ${JSON.stringify(eventId)}`,
        );
      }
    }
  }
}
