import type { ClaimResult, IdempotencyClaim, StoredAnswer } from './idempotency.port.js';

/** A record as the in-process adapters (memory, SQLite) keep it; times in ms since the epoch. */
export interface IdempotencyRecord {
  fingerprint: string;
  token: string;
  answer: StoredAnswer | undefined;
  claimExpiresAt: number;
  expiresAt: number;
}

/**
 * The claim rule of the port, for adapters that read the record and write
 * it in one transaction: whether `request` takes the record (a fresh one,
 * or a takeover of an expired record or of a stale claim for the same
 * request), or is told what stands.
 */
export function decideClaim(
  existing: IdempotencyRecord | undefined,
  request: IdempotencyClaim,
  now: number,
): { take: 'fresh' } | { take: 'over' } | { take: false; result: Exclude<ClaimResult, { outcome: 'claimed' }> } {
  if (existing === undefined || existing.expiresAt <= now) return { take: 'fresh' };
  const { fingerprint, answer } = existing;
  if (answer !== undefined) return { take: false, result: { outcome: 'answered', fingerprint, answer } };
  if (fingerprint === request.fingerprint && existing.claimExpiresAt <= now) return { take: 'over' };
  return { take: false, result: { outcome: 'in-flight', fingerprint } };
}
