import { randomBytes } from 'node:crypto';
import {
  ANY,
  NO_STREAM,
  START,
  FORWARDS,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import {
  SITE_KEY_STREAM_PREFIX,
  eventStoreDbClient,
  iterateRead,
  toStoreError,
  type EventStoreDbConnection,
} from '../event-store/eventstoredb/eventstoredb-event-store.js';
import { KeyDestroyedError, type KeyStore } from './key-store.port.js';

export const siteKeyStreamId = (siteId: string): string =>
  `${SITE_KEY_STREAM_PREFIX}${siteId}`;

/** The one event of a key stream: `{ key: <32 bytes, base64> }`. */
const KEY_CREATED = 'SiteKeyCreated';
/** Stands in for a key that never existed, only long enough to tombstone its stream (see destroyKey). */
const KEY_WITHHELD = 'SiteKeyWithheld';

const KEY_BYTES = 32;

type KeyState =
  { kind: 'absent' } | { kind: 'destroyed' } | { kind: 'present'; key: Buffer };

/**
 * Site data keys on EventStoreDB, so every service instance shares them: one
 * stream `sitekey-<siteId>` per site holding one `SiteKeyCreated` event.
 *
 * - Creation appends with `NO_STREAM`; of two racing creators exactly one
 *   wins and the other reads and returns the winner's key.
 * - Destruction tombstones the stream (hard delete): it can never be written
 *   again, reads fail with `StreamDeletedError` (→ `KeyDestroyedError` /
 *   undefined here), and the next scavenge drops the key bytes from disk.
 *   Until a scavenge has run over the chunk that holds them, the bytes are
 *   still in the transaction log (and visible to raw `$all` readers); the
 *   ledger's own `$all` views never show `sitekey-` streams.
 */
export class EventStoreDbKeyStore implements KeyStore {
  private readonly client: EventStoreDBClient;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(connection: EventStoreDbConnection) {
    const { client, owned } = eventStoreDbClient(connection);
    this.client = client;
    this.ownsClient = owned;
  }

  async obtainKey(siteId: string): Promise<Buffer> {
    const existing = await this.read(siteId);
    if (existing.kind === 'present') return existing.key;
    if (existing.kind === 'destroyed') throw new KeyDestroyedError(siteId);

    const key = randomBytes(KEY_BYTES);
    try {
      await this.client.appendToStream(
        siteKeyStreamId(siteId),
        jsonEvent({ type: KEY_CREATED, data: { key: key.toString('base64') } }),
        { expectedRevision: NO_STREAM },
      );
      return key;
    } catch (error) {
      if (error instanceof StreamDeletedError)
        throw new KeyDestroyedError(siteId);
      if (!(error instanceof EsdbWrongExpectedVersionError)) {
        throw toStoreError(error, `creating the key of site ${siteId}`);
      }
    }
    // Another instance created the key first: everyone uses the winner's.
    const winner = await this.read(siteId);
    if (winner.kind === 'present') return winner.key;
    throw new KeyDestroyedError(siteId);
  }

  async findKey(siteId: string): Promise<Buffer | undefined> {
    const state = await this.read(siteId);
    return state.kind === 'present' ? state.key : undefined;
  }

  async destroyKey(siteId: string): Promise<void> {
    const streamId = siteKeyStreamId(siteId);
    try {
      // A tombstone with no expected revision also covers a key that was
      // never created, so none can be created later.
      await this.client.tombstoneStream(streamId, { expectedRevision: ANY });
      return;
    } catch (error) {
      if (error instanceof StreamDeletedError) return; // destroyed before: idempotent
      if (!(
        error instanceof StreamNotFoundError ||
        error instanceof EsdbWrongExpectedVersionError
      )) {
        throw toStoreError(error, `destroying the key of site ${siteId}`);
      }
    }
    // Should a server refuse to tombstone a stream that does not exist, give
    // it an event without key material first, then tombstone it.
    try {
      await this.client.appendToStream(
        streamId,
        jsonEvent({ type: KEY_WITHHELD, data: { siteId } }),
        {
          expectedRevision: ANY,
        },
      );
      await this.client.tombstoneStream(streamId, { expectedRevision: ANY });
    } catch (error) {
      if (error instanceof StreamDeletedError) return;
      throw toStoreError(error, `destroying the key of site ${siteId}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await this.client.dispose();
  }

  private async read(siteId: string): Promise<KeyState> {
    const streamId = siteKeyStreamId(siteId);
    try {
      const read = this.client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: START,
        maxCount: 1,
      });
      for await (const { event } of iterateRead(read)) {
        if (!event) continue;
        if (event.type === KEY_WITHHELD) return { kind: 'destroyed' };
        const data: unknown = event.data;
        const encoded =
          event.type === KEY_CREATED && isRecord(data) ? data.key : undefined;
        const key =
          typeof encoded === 'string'
            ? Buffer.from(encoded, 'base64')
            : undefined;
        if (key?.length !== KEY_BYTES) {
          throw new Error(
            `${streamId}@${event.revision} does not hold a ${KEY_BYTES}-byte key`,
          );
        }
        return { kind: 'present', key };
      }
      return { kind: 'absent' };
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { kind: 'absent' };
      if (error instanceof StreamDeletedError) return { kind: 'destroyed' };
      throw toStoreError(error, `reading the key of site ${siteId}`);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
