import {
  type ClaimResult,
  type IdempotencyStore,
  IdempotencyUnsupportedError,
  type StoredAnswer,
} from './idempotency.port.js';

/**
 * For a store that keeps no idempotency keys (EventStoreDB: there is no
 * server here to test an adapter against, and an untested one would promise
 * what it may not keep). A request with `Idempotency-Key` is refused rather
 * than run without the protection its sender asked for.
 */
export class RefusingIdempotencyStore implements IdempotencyStore {
  constructor(private readonly store: string) {}

  async claim(): Promise<ClaimResult> {
    throw new IdempotencyUnsupportedError(this.store);
  }

  async complete(_scope: string, _key: string, _token: string, _answer: StoredAnswer): Promise<boolean> {
    return false;
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {}
}
