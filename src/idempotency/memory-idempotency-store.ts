import { randomUUID } from 'node:crypto';
import { decideClaim, type IdempotencyRecord } from './idempotency-record.js';
import type { ClaimResult, IdempotencyClaim, IdempotencyStore, StoredAnswer } from './idempotency.port.js';

/** Idempotency keys in this process (the memory store, tests): gone when it stops. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async claim(request: IdempotencyClaim): Promise<ClaimResult> {
    const now = this.now();
    for (const [id, record] of this.#records) if (record.expiresAt <= now) this.#records.delete(id);
    const id = recordId(request.scope, request.key);
    const existing = this.#records.get(id);
    const decision = decideClaim(existing, request, now);
    if (decision.take === false) return decision.result;
    const token = randomUUID();
    this.#records.set(id, {
      fingerprint: request.fingerprint,
      token,
      answer: undefined,
      claimExpiresAt: now + request.claimTtlMs,
      expiresAt: decision.take === 'over' && existing ? existing.expiresAt : now + request.ttlMs,
    });
    return { outcome: 'claimed', token };
  }

  async complete(scope: string, key: string, token: string, answer: StoredAnswer): Promise<boolean> {
    const record = this.#records.get(recordId(scope, key));
    if (record?.token !== token || record.answer !== undefined || record.expiresAt <= this.now()) return false;
    record.answer = structuredClone(answer);
    return true;
  }

  async release(scope: string, key: string, token: string): Promise<void> {
    const id = recordId(scope, key);
    const record = this.#records.get(id);
    if (record?.token === token && record.answer === undefined) this.#records.delete(id);
  }

  async close(): Promise<void> {}
}

const recordId = (scope: string, key: string): string => JSON.stringify([scope, key]);
