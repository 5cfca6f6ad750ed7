import { describe } from 'vitest';
import { EventStoreDbKeyStore } from './eventstoredb-key-store.js';
import { describeKeyStoreContract } from './key-store.contract.js';
import type { KeyStore } from './key-store.port.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (!connectionString) {
  console.warn(
    'skipped: no EventStoreDB (set EVENTSTORE_CONNECTION_STRING, e.g. esdb://localhost:2113?tls=false, to run the store contract against a server)',
  );
}

describe.skipIf(!connectionString)(
  'EventStoreDB (server at EVENTSTORE_CONNECTION_STRING)',
  () => {
    describeKeyStoreContract('eventstoredb', async () => {
      if (!connectionString)
        throw new Error('EVENTSTORE_CONNECTION_STRING is not set');
      let keyStore: KeyStore = new EventStoreDbKeyStore(connectionString);
      return {
        get keyStore() {
          return keyStore;
        },
        async reopen() {
          await keyStore.close();
          keyStore = new EventStoreDbKeyStore(connectionString);
          return keyStore;
        },
        // Key streams stay on the server (destroyed ones as tombstones).
        async cleanup() {
          await keyStore.close();
        },
      };
    });
  },
);
