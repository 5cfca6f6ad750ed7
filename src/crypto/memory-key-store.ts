import { randomBytes } from 'node:crypto';
import { KeyDestroyedError, type KeyStore } from './key-store.port.js';

const KEY_BYTES = 32;

/**
 * For unit tests: keys in a Map. `null` marks a destroyed key, so a purged
 * site never gets a new one. Keys are copied out, so a caller that wipes its
 * buffer after use does not wipe the stored key.
 */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, Buffer | null>();

  async obtainKey(siteId: string): Promise<Buffer> {
    let key = this.#keys.get(siteId);
    if (key === null) throw new KeyDestroyedError(siteId);
    if (key === undefined) {
      key = randomBytes(KEY_BYTES);
      this.#keys.set(siteId, key);
    }
    return Buffer.from(key);
  }

  async findKey(siteId: string): Promise<Buffer | undefined> {
    const key = this.#keys.get(siteId);
    return key ? Buffer.from(key) : undefined;
  }

  async destroyKey(siteId: string): Promise<void> {
    this.#keys.get(siteId)?.fill(0);
    this.#keys.set(siteId, null);
  }

  async close(): Promise<void> {}
}
