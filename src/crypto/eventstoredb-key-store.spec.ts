import { Readable } from 'node:stream';
import { StreamNotFoundError, type AppendResult, type EventData, type StreamMetadata } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { openEventStoreDbClient, type EventStoreDbClient } from '../event-store/eventstoredb/eventstoredb.client.js';
import { EventStoreDbKeyStore } from './eventstoredb-key-store.js';
import { describeKeyStoreContract } from './key-store.contract.js';
import type { KeyStore } from './key-store.port.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (!connectionString) {
  console.warn(
    'skipped: no EventStoreDB (set EVENTSTORE_CONNECTION_STRING, e.g. esdb://localhost:2113?tls=false, to run the store contract against a server)',
  );
}

describe.skipIf(!connectionString)('EventStoreDB (server at EVENTSTORE_CONNECTION_STRING)', () => {
  describeKeyStoreContract('eventstoredb', async () => {
    if (!connectionString) throw new Error('EVENTSTORE_CONNECTION_STRING is not set');
    const client = openEventStoreDbClient(connectionString);
    let keyStore: KeyStore = new EventStoreDbKeyStore(client);
    return {
      get keyStore() {
        return keyStore;
      },
      async reopen() {
        await keyStore.close();
        keyStore = new EventStoreDbKeyStore(client);
        return keyStore;
      },
      // Key streams stay on the server (destroyed ones as tombstones).
      async cleanup() {
        await keyStore.close();
        await client.dispose();
      },
    };
  });
});

/**
 * No server needed: what the key store asks of the client, recorded by a
 * stand-in. It checks the order of the key store's own calls, nothing about
 * a server.
 */
class RecordingClient {
  readonly calls: { call: string; streamId: string; detail: unknown }[] = [];

  readStream(streamId: string): Readable & { cancel(): Promise<void> } {
    this.calls.push({ call: 'readStream', streamId, detail: undefined });
    const readable = new Readable({
      objectMode: true,
      read() {
        this.destroy(new StreamNotFoundError(undefined, streamId));
      },
    });
    return Object.assign(readable, { cancel: async () => undefined });
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<AppendResult> {
    this.calls.push({ call: 'setStreamMetadata', streamId, detail: metadata });
    return { success: true, nextExpectedRevision: 0n, position: undefined };
  }

  async appendToStream(streamId: string, event: EventData): Promise<AppendResult> {
    this.calls.push({ call: 'appendToStream', streamId, detail: event.type });
    return { success: true, nextExpectedRevision: 0n, position: undefined };
  }

  /** The stand-in offers only what the key store calls. */
  asClient(): EventStoreDbClient {
    return this as unknown as EventStoreDbClient;
  }
}

describe('EventStoreDbKeyStore, against a recording client', () => {
  it('restricts a key stream with an $acl before it writes the key into it', async () => {
    const client = new RecordingClient();
    const keyStore = new EventStoreDbKeyStore(client.asClient(), {
      aclRoles: ['ledger', '$admins'],
    });

    await keyStore.obtainKey('s1');

    const roles = ['ledger', '$admins'];
    expect(client.calls).toEqual([
      { call: 'readStream', streamId: 'sitekey-s1', detail: undefined },
      {
        call: 'setStreamMetadata',
        streamId: 'sitekey-s1',
        detail: {
          acl: {
            readRoles: roles,
            writeRoles: roles,
            deleteRoles: roles,
            metaReadRoles: roles,
            metaWriteRoles: roles,
          },
        },
      },
      {
        call: 'appendToStream',
        streamId: 'sitekey-s1',
        detail: 'SiteKeyCreated',
      },
    ]);
  });
});
