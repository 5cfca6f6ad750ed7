import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyDestroyedError, type KeyStore } from './key-store.port.js';

export interface KeyStoreContractSubject {
  keyStore: KeyStore;
  /** Close `keyStore` and open the same keys again. Optional: memory cannot. */
  reopen?(): Promise<KeyStore>;
  cleanup(): Promise<void>;
}

/**
 * The one suite every KeyStore runs. Site ids are fresh (`contract-<uuid>`)
 * so it also runs against a shared server that keeps earlier runs' keys.
 */
export function describeKeyStoreContract(name: string, open: () => Promise<KeyStoreContractSubject>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let subject: KeyStoreContractSubject;
    let keyStore: KeyStore;

    beforeEach(async () => {
      subject = await open();
      keyStore = subject.keyStore;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    it('creates a 32-byte key on first use and returns the same key afterwards', async () => {
      const siteId = newSiteId();
      const key = await keyStore.obtainKey(siteId);
      expect(Buffer.isBuffer(key)).toBe(true);
      expect(key).toHaveLength(32);
      expect(key.equals(Buffer.alloc(32))).toBe(false);
      expect(await keyStore.obtainKey(siteId)).toEqual(key);
      expect(await keyStore.findKey(siteId)).toEqual(key);
    });

    it('gives each site its own key', async () => {
      const [a, b] = await Promise.all([keyStore.obtainKey(newSiteId()), keyStore.obtainKey(newSiteId())]);
      expect(a.equals(b)).toBe(false);
    });

    it('gives concurrent callers for one site the same key', async () => {
      const siteId = newSiteId();
      const keys = await Promise.all(Array.from({ length: 8 }, () => keyStore.obtainKey(siteId)));
      for (const key of keys) expect(key).toEqual(keys[0]);
      expect(await keyStore.findKey(siteId)).toEqual(keys[0]);
    });

    it('finds no key for an unknown site', async () => {
      expect(await keyStore.findKey(newSiteId())).toBeUndefined();
    });

    it('does not let a caller change the stored key through the returned buffer', async () => {
      const siteId = newSiteId();
      const key = await keyStore.obtainKey(siteId);
      const copy = Buffer.from(key);
      key.fill(0); // what a careful caller does after use
      expect(await keyStore.obtainKey(siteId)).toEqual(copy);
    });

    it('destroyKey makes findKey undefined and obtainKey throw KeyDestroyedError', async () => {
      const siteId = newSiteId();
      await keyStore.obtainKey(siteId);
      await keyStore.destroyKey(siteId);
      expect(await keyStore.findKey(siteId)).toBeUndefined();
      await expectDestroyed(keyStore, siteId);
    });

    it('destroyKey is idempotent', async () => {
      const siteId = newSiteId();
      await keyStore.obtainKey(siteId);
      await keyStore.destroyKey(siteId);
      await expect(keyStore.destroyKey(siteId)).resolves.toBeUndefined();
      expect(await keyStore.findKey(siteId)).toBeUndefined();
      await expectDestroyed(keyStore, siteId);
    });

    it('remembers a destroyed key that never existed: the site never gets one', async () => {
      const siteId = newSiteId();
      await keyStore.destroyKey(siteId);
      await expectDestroyed(keyStore, siteId);
      expect(await keyStore.findKey(siteId)).toBeUndefined();
    });

    it("leaves other sites' keys untouched", async () => {
      const [doomed, kept] = [newSiteId(), newSiteId()];
      await keyStore.obtainKey(doomed);
      const key = await keyStore.obtainKey(kept);
      await keyStore.destroyKey(doomed);
      expect(await keyStore.findKey(kept)).toEqual(key);
      expect(await keyStore.obtainKey(kept)).toEqual(key);
    });

    it('keeps keys and destructions across a reopen', async (context) => {
      const reopen = subject.reopen?.bind(subject);
      if (reopen === undefined) return context.skip(`${name} cannot be reopened`);
      const [kept, destroyed] = [newSiteId(), newSiteId()];
      const key = await keyStore.obtainKey(kept);
      await keyStore.obtainKey(destroyed);
      await keyStore.destroyKey(destroyed);

      const reopened = await reopen();
      expect(await reopened.obtainKey(kept)).toEqual(key);
      expect(await reopened.findKey(kept)).toEqual(key);
      expect(await reopened.findKey(destroyed)).toBeUndefined();
      await expectDestroyed(reopened, destroyed);
    });
  });
}

function newSiteId(): string {
  return `contract-${randomUUID()}`;
}

async function expectDestroyed(keyStore: KeyStore, siteId: string): Promise<void> {
  const error = await keyStore.obtainKey(siteId).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KeyDestroyedError);
  expect(error).toMatchObject({ siteId, code: 'site.key-destroyed' });
}
