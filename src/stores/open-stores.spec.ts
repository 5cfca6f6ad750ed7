import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/ledger-config.js';
import { EventStoreDbKeyStore } from '../crypto/eventstoredb-key-store.js';
import { MemoryKeyStore } from '../crypto/memory-key-store.js';
import { SqliteKeyStore } from '../crypto/sqlite-key-store.js';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { EventStoreDbEventStore } from '../event-store/eventstoredb/eventstoredb-event-store.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { IdempotencyUnsupportedError } from '../idempotency/idempotency.port.js';
import { MemoryIdempotencyStore } from '../idempotency/memory-idempotency-store.js';
import { RefusingIdempotencyStore } from '../idempotency/refusing-idempotency-store.js';
import { SqliteIdempotencyStore } from '../idempotency/sqlite-idempotency-store.js';
import { openStores } from './open-stores.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configFor(store: string, connectionString = 'esdb://localhost:2113?tls=false') {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-stores-'));
  dirs.push(dir);
  return loadConfig({
    LEDGER_STORE: store,
    LEDGER_DATA_DIR: dir,
    EVENTSTORE_CONNECTION_STRING: connectionString,
  });
}

const ignore = { log: (): void => undefined, warn: (): void => undefined };

describe('openStores', () => {
  it.each([
    {
      store: 'sqlite',
      events: SqliteEventStore,
      keys: SqliteKeyStore,
      idempotency: SqliteIdempotencyStore,
      keysRefuseOnceClosed: true,
    },
    // The memory key store keeps answering after close: there is nothing to release.
    {
      store: 'memory',
      events: MemoryEventStore,
      keys: MemoryKeyStore,
      idempotency: MemoryIdempotencyStore,
      keysRefuseOnceClosed: false,
    },
    // No server is contacted: the client connects at its first call.
    {
      store: 'eventstoredb',
      events: EventStoreDbEventStore,
      keys: EventStoreDbKeyStore,
      idempotency: RefusingIdempotencyStore,
      keysRefuseOnceClosed: true,
    },
  ])(
    'gives the $store event store the key store that follows it, and closes both once',
    async ({ store, events, keys, idempotency, keysRefuseOnceClosed }) => {
      const stores = await openStores(configFor(store), ignore);
      expect(stores.events).toBeInstanceOf(events);
      expect(stores.keys).toBeInstanceOf(keys);
      expect(stores.idempotency).toBeInstanceOf(idempotency);

      await Promise.all([stores.close(), stores.close()]);
      await expect(stores.events.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      if (keysRefuseOnceClosed)
        await expect(stores.keys.findKey('s1')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    },
  );

  it('keeps no idempotency keys on EventStoreDB: a claim is refused, never run unprotected', async () => {
    const stores = await openStores(configFor('eventstoredb'), ignore);
    try {
      const claim = { scope: 's', key: 'k', fingerprint: 'f', ttlMs: 1000, claimTtlMs: 1000 };
      await expect(stores.idempotency.claim(claim)).rejects.toBeInstanceOf(IdempotencyUnsupportedError);
    } finally {
      await stores.close();
    }
  });

  it('refuses an EventStoreDB connection string with throwOnAppendFailure=false', async () => {
    const config = configFor('eventstoredb', 'esdb://localhost:2113?tls=false&throwOnAppendFailure=false');
    await expect(openStores(config, ignore)).rejects.toThrow(/throwOnAppendFailure=false/);
  });
});
