import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { SqliteKeyStore } from '../../src/crypto/sqlite-key-store.js';

/**
 * Creates data keys for `siteIds` in the key store file, in one transaction.
 * Benchmark setup only: the key store creates one key per registration, in
 * its own durable transaction, which is the key store's cost and not what
 * an append figure measures.
 */
export function createKeys(file: string, siteIds: readonly string[]): void {
  void new SqliteKeyStore(file).close(); // creates the file, its mode and its schema
  const db = new Database(file);
  try {
    const insert = db.prepare('INSERT INTO site_keys (site_id, key, created_at) VALUES (?, ?, ?)');
    const now = new Date().toISOString();
    db.transaction(() => {
      for (const siteId of siteIds) insert.run(siteId, randomBytes(32), now);
    })();
  } finally {
    db.close();
  }
}
