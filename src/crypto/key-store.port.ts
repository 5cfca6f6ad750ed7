/**
 * Per-site data keys (AES-256, 32 bytes), kept outside the event log so that
 * destroying one site's key makes that site's personal data unreadable
 * everywhere it was written ("crypto-shredding") while the events and their
 * hash chain stay intact.
 */
export interface KeyStore {
  /**
   * The site's key, creating it on first use. Concurrent callers for the
   * same site get the same key.
   * @throws KeyDestroyedError if the key was destroyed: a purged site never
   *   gets a new key.
   */
  obtainKey(siteId: string): Promise<Buffer>;

  /** The site's key, or undefined if it never existed or was destroyed. */
  findKey(siteId: string): Promise<Buffer | undefined>;

  /**
   * Destroys the site's key for good and remembers that it was destroyed.
   * Idempotent.
   */
  destroyKey(siteId: string): Promise<void>;

  close(): Promise<void>;
}

export class KeyDestroyedError extends Error {
  readonly code = 'site.key-destroyed';
  constructor(readonly siteId: string) {
    super(`the data key of site ${siteId} was destroyed`);
    this.name = 'KeyDestroyedError';
  }
}

/** Nest injection token for the configured `KeyStore`. */
export const KEY_STORE = Symbol('KEY_STORE');
