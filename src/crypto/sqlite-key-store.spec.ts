import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeKeyStoreContract } from './key-store.contract.js';
import type { KeyStore } from './key-store.port.js';
import { SqliteKeyStore } from './sqlite-key-store.js';

describeKeyStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-keys-'));
  const file = join(dir, 'data', 'keys.db');
  const opened: KeyStore[] = [new SqliteKeyStore(file)];
  return {
    keyStore: opened[0] as KeyStore,
    reopen: async () => {
      await opened[0]?.close();
      const again = new SqliteKeyStore(file);
      opened.push(again);
      return again;
    },
    cleanup: async () => {
      for (const each of opened) await each.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteKeyStore', () => {
  let dir: string;
  let file: string;
  const opened: SqliteKeyStore[] = [];
  const open = (): SqliteKeyStore => {
    const store = new SqliteKeyStore(file);
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-keys-'));
    file = join(dir, 'keys.db');
  });

  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Whether `key` occurs anywhere in the database file, its WAL or its shared memory. */
  const onDisk = (key: Buffer): boolean =>
    ['', '-wal', '-shm'].some((suffix) => {
      const path = `${file}${suffix}`;
      return existsSync(path) && readFileSync(path).indexOf(key) >= 0;
    });

  it('leaves no trace of a destroyed key in the database file or its WAL', async () => {
    const store = open();
    // Enough keys to span several pages, so destroyed keys sit beside live ones.
    const keys = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      const siteId = `site-${i}`;
      keys.set(siteId, Buffer.from(await store.obtainKey(siteId)));
    }
    const doomed = [...keys.keys()].filter((_, i) => i % 7 === 3);

    // Control: before destruction the scan does find them.
    for (const siteId of doomed) expect(onDisk(keys.get(siteId) ?? Buffer.alloc(0))).toBe(true);

    for (const siteId of doomed) await store.destroyKey(siteId);

    for (const [siteId, key] of keys) {
      expect({ siteId, onDisk: onDisk(key) }).toEqual({
        siteId,
        onDisk: !doomed.includes(siteId),
      });
    }
  });

  it('gives two connections to one file the same key and the same destruction', async () => {
    const [first, second] = [open(), open()];
    const keys = await Promise.all([first.obtainKey('site-a'), second.obtainKey('site-a')]);
    expect(keys[1]).toEqual(keys[0]);
    await second.destroyKey('site-a');
    expect(await first.findKey('site-a')).toBeUndefined();
  });
});

describe('SqliteKeyStore file permissions', () => {
  it('keeps the key file readable by its owner only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-mode-'));
    const keyStore = new SqliteKeyStore(join(dir, 'keys.db'));
    try {
      await keyStore.obtainKey('site-a');
      expect(statSync(join(dir, 'keys.db')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'keys.db-wal')).mode & 0o077).toBe(0);
    } finally {
      await keyStore.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
