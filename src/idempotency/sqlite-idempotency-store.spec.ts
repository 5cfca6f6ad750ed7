import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeIdempotencyStoreContract } from './idempotency-store.contract.js';
import type { IdempotencyStore } from './idempotency.port.js';
import { SqliteIdempotencyStore } from './sqlite-idempotency-store.js';

describeIdempotencyStoreContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-idempotency-'));
    const file = join(dir, 'data', 'idempotency.db');
    const opened: IdempotencyStore[] = [new SqliteIdempotencyStore(file), new SqliteIdempotencyStore(file)];
    return {
      store: opened[0]!,
      // A second connection to the file: the claim's write lock, not this process's event loop, keeps it single.
      other: opened[1]!,
      reopen: async () => {
        await opened[0]?.close();
        const again = new SqliteIdempotencyStore(file);
        opened.push(again);
        return again;
      },
      cleanup: async () => {
        for (const each of opened) await each.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { durable: true },
);

describe('SqliteIdempotencyStore', () => {
  it('keeps its file readable by its owner only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-idempotency-'));
    const store = new SqliteIdempotencyStore(join(dir, 'idempotency.db'));
    try {
      expect(statSync(join(dir, 'idempotency.db')).mode & 0o777).toBe(0o600);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
