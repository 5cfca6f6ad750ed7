import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresConnection } from '../event-store/postgres/postgres.connection.js';
import { pollUntil } from '../testing/poll-until.js';
import { createTestDatabase, postgresForTests, withRawConnection, type TestDatabase } from '../testing/postgres.js';
import { describeKeyStoreContract } from './key-store.contract.js';
import type { KeyStore } from './key-store.port.js';
import { PostgresKeyStore, type PostgresKeyStoreOptions } from './postgres-key-store.js';

const hasPostgres = await postgresForTests();

describe.skipIf(!hasPostgres)('PostgreSQL key store (server at LEDGER_TEST_POSTGRES_URL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describeKeyStoreContract('postgres', async () => {
    const connections: PostgresConnection[] = [];
    const keyStores: KeyStore[] = [];
    const open = async (): Promise<KeyStore> => {
      const connection = await openPostgres(db.url, { log: () => undefined });
      connections.push(connection);
      const keyStore = await PostgresKeyStore.open(connection, { log: () => undefined });
      keyStores.push(keyStore);
      return keyStore;
    };
    const keyStore = await open();
    return {
      keyStore,
      reopen: async () => {
        await keyStore.close();
        await connections[0]?.close();
        return open();
      },
      cleanup: async () => {
        for (const each of keyStores) await each.close();
        for (const each of connections) await each.close();
      },
    };
  });

  describe('PostgresKeyStore', () => {
    const logged: string[] = [];
    const toClose: { close(): Promise<void> }[] = [];

    /** A key store on a database of its own (the shredding tests look at every page of the table). */
    const openOwn = async (
      options: Partial<PostgresKeyStoreOptions> = {},
    ): Promise<{ keyStore: PostgresKeyStore; own: TestDatabase }> => {
      const own = await createTestDatabase();
      toClose.push({ close: () => own.drop() });
      const connection = await openPostgres(own.url, { log: (message) => logged.push(message) });
      const keyStore = await PostgresKeyStore.open(connection, { log: (message) => logged.push(message), ...options });
      toClose.unshift(keyStore, connection);
      return { keyStore, own };
    };

    afterEach(async () => {
      for (const each of toClose.splice(0)) await each.close();
      logged.splice(0);
    });

    it('creates its table once and says so', async () => {
      await openOwn();
      expect(logged.filter((line) => line.startsWith('created the site key table in tl_test_'))).toHaveLength(1);
    });

    it('gives two pools on one database the same key and the same destruction', async () => {
      const { keyStore, own } = await openOwn();
      const second = await openPostgres(own.url, { log: () => undefined });
      const other = await PostgresKeyStore.open(second, { log: () => undefined });
      toClose.unshift(other, second);
      const keys = await Promise.all([keyStore.obtainKey('site-a'), other.obtainKey('site-a')]);
      expect(keys[1]).toEqual(keys[0]);
      await other.destroyKey('site-a');
      expect(await keyStore.findKey('site-a')).toBeUndefined();
    });

    it("answers concurrent lookups together, each with its own site's key, and none with a key destroyed before it asked", async () => {
      const own = await createTestDatabase();
      toClose.push({ close: () => own.drop() });
      const connection = await openPostgres(own.url, { log: () => undefined });
      let queries = 0;
      const pool = new Proxy(connection.pool, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function'
            ? (...args: unknown[]) => {
                if (property === 'query') queries += 1;
                return (value as (...each: unknown[]) => unknown).apply(target, args);
              }
            : value;
        },
      });
      const keyStore = await PostgresKeyStore.open({ pool, target: connection.target }, { log: () => undefined });
      toClose.unshift(keyStore, connection);
      const keyQueries = () => queries;
      const sites = Array.from({ length: 60 }, (_, i) => `site-${i}`);
      const obtained = await Promise.all(sites.map((site) => keyStore.obtainKey(site)));
      expect(new Set(obtained.map((key) => key.toString('hex'))).size).toBe(sites.length);
      await keyStore.destroyKey('site-7');
      const queriesBefore = keyQueries();
      const found = await Promise.all([...sites, 'never-registered'].map((site) => keyStore.findKey(site)));
      expect(found.at(-1)).toBeUndefined();
      expect(found[7]).toBeUndefined();
      sites.forEach((_, i) => {
        if (i !== 7) expect(found[i]).toEqual(obtained[i]);
      });
      // 61 lookups, a handful of queries: the first goes alone, the rest wait for it and go together.
      expect(keyQueries() - queriesBefore).toBeLessThan(10);
    });

    describe('shredding, seen in the table pages (pageinspect)', () => {
      /** Whether pageinspect can be used: it needs a superuser (the default test server's user is one). */
      let pageinspect: string | undefined;
      const available = async (own: TestDatabase, skip: (reason: string) => void): Promise<void> => {
        pageinspect = await withRawConnection(own.url, (raw) => raw.query('CREATE EXTENSION IF NOT EXISTS pageinspect'))
          .then(() => undefined)
          .catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
        if (pageinspect !== undefined) {
          console.warn(`skipped: pageinspect is not available (${pageinspect}); key bytes cannot be looked for`);
          skip(`pageinspect is not available: ${pageinspect}`);
        }
      };

      it('leaves no byte of a destroyed key in the table, where a plain VACUUM would', async (context) => {
        const { keyStore, own } = await openOwn();
        await available(own, (reason) => context.skip(reason));
        // Enough keys to fill several pages, so destroyed keys sit beside live ones.
        const keys = new Map<string, Buffer>();
        for (let i = 0; i < 300; i++) {
          const siteId = `site-${String(i).padStart(3, '0')}`;
          keys.set(siteId, Buffer.from(await keyStore.obtainKey(siteId)));
        }
        await withRawConnection(own.url, async (raw) => {
          // The row written last on a full page sits at the edge of the
          // page's free space: once its old version is freed, no other row
          // moves over its bytes.
          const [edge0, edge1] = [await lastRowOfPage(raw, 0), await lastRowOfPage(raw, 1)];
          const keyOf = (siteId: string): Buffer => keys.get(siteId) ?? Buffer.alloc(0);
          expect(await inHeap(raw, keyOf(edge1))).toBe(true); // the scan finds keys

          // Control: a plain VACUUM frees a cleared key's old version but leaves its bytes.
          await raw.query(`UPDATE site_keys SET key = NULL, destroyed_at = now() WHERE site_id = $1`, [edge1]);
          await raw.query('VACUUM site_keys');
          expect(await inHeap(raw, keyOf(edge1))).toBe(true);

          // destroyKey leaves nothing, and its rewrite takes what the VACUUM left too.
          await keyStore.destroyKey(edge0);
          expect(await inHeap(raw, keyOf(edge0))).toBe(false);
          expect(await inHeap(raw, keyOf(edge1))).toBe(false);

          const doomed = [...keys.keys()].filter((siteId, i) => i % 7 === 3 && siteId !== edge0 && siteId !== edge1);
          // Destroyed together, as a purge of many sites does: they share rewrites.
          await Promise.all(doomed.map((siteId) => keyStore.destroyKey(siteId)));
          const pages = await heapPages(raw);
          for (const [siteId, key] of keys) {
            const present = pages.some((page) => page.includes(key));
            const destroyed = siteId === edge0 || siteId === edge1 || doomed.includes(siteId);
            expect({ siteId, present }).toEqual({ siteId, present: !destroyed });
          }
        });
        expect(logged.filter((line) => line.includes('is destroyed, but'))).toEqual([]);
      });

      it('waits for a transaction older than the destruction, which would keep the old bytes, to end', async (context) => {
        const { keyStore, own } = await openOwn({ scrubWaitMs: 4_000 });
        await available(own, (reason) => context.skip(reason));
        const key = Buffer.from(await keyStore.obtainKey('site-a'));
        await withRawConnection(own.url, async (older) => {
          // A snapshot taken before the destruction may still read the old row.
          await older.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
          await older.query('SELECT count(*) FROM pg_class');
          let destroyed = false;
          const destroying = keyStore.destroyKey('site-a').then(() => (destroyed = true));
          await withRawConnection(own.url, (raw) =>
            pollUntil(
              async () =>
                (await raw.query(`SELECT 1 FROM site_keys WHERE site_id = 'site-a' AND key IS NULL`)).rowCount,
              { what: 'the key to be cleared', timeoutMs: 4_000 },
            ),
          );
          expect(destroyed).toBe(false); // still waiting for `older`
          await older.query('COMMIT');
          await destroying;
        });
        expect(await withRawConnection(own.url, (raw) => inHeap(raw, key))).toBe(false);
        expect(logged.filter((line) => line.includes('is destroyed, but'))).toEqual([]);
      });

      it('says so when an older transaction outlasts the wait; the next destruction scrubs both', async (context) => {
        const { keyStore, own } = await openOwn({ scrubWaitMs: 50 });
        await available(own, (reason) => context.skip(reason));
        const key = Buffer.from(await keyStore.obtainKey('site-a'));
        await keyStore.obtainKey('site-b');
        await withRawConnection(own.url, async (older) => {
          await older.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
          await older.query('SELECT count(*) FROM pg_class');
          await keyStore.destroyKey('site-a');
          await older.query('COMMIT');
        });
        await expect(keyStore.obtainKey('site-a')).rejects.toThrow('was destroyed');
        expect(
          logged.filter((line) => line.includes('the key of site site-a is destroyed, but older transactions')),
        ).toHaveLength(1);
        expect(await withRawConnection(own.url, (raw) => inHeap(raw, key))).toBe(true);

        // Another instance, which waits as long as the default: other tests
        // on the same server may have transactions open for a moment.
        const connection = await openPostgres(own.url, { log: () => undefined });
        const patient = await PostgresKeyStore.open(connection, { log: (message) => logged.push(message) });
        toClose.unshift(patient, connection);
        await patient.destroyKey('site-b');
        expect(await withRawConnection(own.url, (raw) => inHeap(raw, key))).toBe(false);
      });
    });
  });
});

/** Every page of site_keys' heap, raw, read with pageinspect. */
async function heapPages(raw: pg.Client): Promise<Buffer[]> {
  const { rows } = await raw.query<{ page: Buffer }>(
    `SELECT get_raw_page('site_keys', n::int) AS page
     FROM generate_series(0, pg_relation_size('site_keys') / current_setting('block_size')::int - 1) AS n`,
  );
  return rows.map((row) => row.page);
}

/** Whether `bytes` occur in any page of site_keys' heap. */
async function inHeap(raw: pg.Client, bytes: Buffer): Promise<boolean> {
  return (await heapPages(raw)).some((page) => page.includes(bytes));
}

/** The site whose row was written last on `page` (it sits at the page's free-space edge). */
async function lastRowOfPage(raw: pg.Client, page: number): Promise<string> {
  const { rows } = await raw.query<{ site_id: string }>(
    `SELECT site_id FROM site_keys WHERE (ctid::text::point)[0] = $1 ORDER BY (ctid::text::point)[1] DESC LIMIT 1`,
    [page],
  );
  const siteId = rows[0]?.site_id;
  if (siteId === undefined) throw new Error(`site_keys has no row on page ${page}`);
  return siteId;
}
