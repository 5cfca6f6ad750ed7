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
  type StreamACL,
} from '@eventstore/db-client';
import { LEADER_READ, iterateRead, type EventStoreDbClient } from '../event-store/eventstoredb/eventstoredb.client.js';
import { toPortError } from '../event-store/eventstoredb/eventstoredb.errors.js';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { siteKeyStreamId } from '../event-store/ledger-streams.js';
import { KeyDestroyedError, type KeyStore } from './key-store.port.js';

/** The one event of a key stream: `{ key: <32 bytes, base64> }`. */
const KEY_CREATED = 'SiteKeyCreated';
/** Stands in for a key that never existed, only long enough to tombstone its stream (see destroyKey). */
const KEY_WITHHELD = 'SiteKeyWithheld';

const KEY_BYTES = 32;

export interface EventStoreDbKeyStoreOptions {
  /**
   * Users and roles allowed to read, write and delete key streams (and their
   * metadata), written as the stream's `$acl` before its key. Default
   * `['$admins']`; `stores/` adds the user of the connection string, which
   * the service needs for itself.
   */
  aclRoles?: readonly string[];
}

type KeyState = { kind: 'absent' } | { kind: 'destroyed' } | { kind: 'present'; key: Buffer };

/**
 * Site data keys on EventStoreDB, so every service instance shares them: one
 * stream `sitekey-<siteId>` per site holding one `SiteKeyCreated` event, on
 * the client the event store shares (owned and disposed by `stores/`).
 *
 * - Creation first sets the stream's `$acl` to `aclRoles`: under the default
 *   ACL every authenticated user may read a user stream, key included.
 *   Then it appends with `NO_STREAM`; of two racing creators exactly one
 *   wins and the other reads and returns the winner's key.
 * - Destruction tombstones the stream (hard delete): it can never be written
 *   again and reads fail with `StreamDeletedError` (→ `KeyDestroyedError` /
 *   undefined here). That is all it does at once: the key bytes stay in the
 *   transaction log until a scavenge rewrites the chunk that holds them.
 *   Scavenges run only when an operator or a schedule starts them, on each
 *   node separately, and never touch the active (last, still written)
 *   chunk; until then a raw reader of `$all` or of the chunk files (an
 *   admin, a backup) can still find the key. The ledger's own `$all` views
 *   never show `sitekey-` streams. See the README on crypto-shredding.
 * - Reads go to the leader, so a key just created is never missed.
 */
export class EventStoreDbKeyStore implements KeyStore {
  private readonly acl: StreamACL;
  private closed = false;

  constructor(
    private readonly client: EventStoreDbClient,
    options: EventStoreDbKeyStoreOptions = {},
  ) {
    const roles = [...(options.aclRoles ?? ['$admins'])];
    this.acl = {
      readRoles: roles,
      writeRoles: roles,
      deleteRoles: roles,
      metaReadRoles: roles,
      metaWriteRoles: roles,
    };
  }

  async obtainKey(siteId: string): Promise<Buffer> {
    this.assertOpen();
    const existing = await this.read(siteId);
    if (existing.kind === 'present') return existing.key;
    if (existing.kind === 'destroyed') throw new KeyDestroyedError(siteId);

    const key = randomBytes(KEY_BYTES);
    const streamId = siteKeyStreamId(siteId);
    try {
      // Metadata may precede its stream, so the key is never readable under the default ACL.
      await this.client.setStreamMetadata(streamId, { acl: this.acl });
      await this.client.appendToStream(
        streamId,
        jsonEvent({ type: KEY_CREATED, data: { key: key.toString('base64') } }),
        { expectedRevision: NO_STREAM },
      );
      return key;
    } catch (error) {
      if (error instanceof StreamDeletedError) throw new KeyDestroyedError(siteId);
      if (!(error instanceof EsdbWrongExpectedVersionError)) {
        throw toPortError(error, {
          action: `creating the key of site ${siteId}`,
        });
      }
    }
    // Another instance created the key first: everyone uses the winner's.
    const winner = await this.read(siteId);
    if (winner.kind === 'present') return winner.key;
    throw new KeyDestroyedError(siteId);
  }

  async findKey(siteId: string): Promise<Buffer | undefined> {
    this.assertOpen();
    const state = await this.read(siteId);
    return state.kind === 'present' ? state.key : undefined;
  }

  async destroyKey(siteId: string): Promise<void> {
    this.assertOpen();
    const streamId = siteKeyStreamId(siteId);
    try {
      // A tombstone with no expected revision also covers a key that was
      // never created, so none can be created later.
      await this.client.tombstoneStream(streamId, { expectedRevision: ANY });
      return;
    } catch (error) {
      if (error instanceof StreamDeletedError) return; // destroyed before: idempotent
      if (!(error instanceof StreamNotFoundError || error instanceof EsdbWrongExpectedVersionError)) {
        throw toPortError(error, {
          action: `destroying the key of site ${siteId}`,
        });
      }
    }
    // Should a server refuse to tombstone a stream that does not exist, give
    // it an event without key material first, then tombstone it.
    try {
      await this.client.appendToStream(streamId, jsonEvent({ type: KEY_WITHHELD, data: { siteId } }), {
        expectedRevision: ANY,
      });
      await this.client.tombstoneStream(streamId, { expectedRevision: ANY });
    } catch (error) {
      if (error instanceof StreamDeletedError) return;
      throw toPortError(error, {
        action: `destroying the key of site ${siteId}`,
      });
    }
  }

  /** Later calls fail with EventStoreUnavailableError. The client stays open: its owner disposes it. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('the EventStoreDB key store is closed');
  }

  private async read(siteId: string): Promise<KeyState> {
    const streamId = siteKeyStreamId(siteId);
    try {
      const read = this.client.readStream(streamId, {
        ...LEADER_READ,
        direction: FORWARDS,
        fromRevision: START,
        maxCount: 1,
      });
      for await (const { event } of iterateRead(read)) {
        if (!event) continue;
        if (event.type === KEY_WITHHELD) return { kind: 'destroyed' };
        const data: unknown = event.data;
        const encoded = event.type === KEY_CREATED && isRecord(data) ? data.key : undefined;
        const key = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : undefined;
        if (key?.length !== KEY_BYTES) {
          throw new Error(`${streamId}@${event.revision} does not hold a ${KEY_BYTES}-byte key`);
        }
        return { kind: 'present', key };
      }
      return { kind: 'absent' };
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { kind: 'absent' };
      if (error instanceof StreamDeletedError) return { kind: 'destroyed' };
      throw toPortError(error, {
        action: `reading the key of site ${siteId}`,
      });
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
