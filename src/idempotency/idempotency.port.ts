/**
 * Idempotency keys (SPEC §9): what a POST or PUT sent with an
 * `Idempotency-Key` answered the first time, so a retry gets that answer
 * instead of running again. Kept in the store's own database, shared by
 * every instance and untouched by read-model rebuilds.
 *
 * A record is claimed before the command runs (in flight), then answered,
 * or released when the command failed in a way a retry should run again.
 * Records live `ttlMs` from their first claim; an unanswered claim holds
 * only `claimTtlMs`, after which a retry with the same request takes it
 * over (its holder crashed). Times are the store's: the database's clock
 * on PostgreSQL, this process's elsewhere.
 */
export interface IdempotencyStore {
  /**
   * Claims `key` in `scope` for this request, atomically: of several
   * callers at once, at most one gets `claimed`.
   * - no live record, or one that expired, or an unanswered claim past
   *   `claimTtlMs` with the same fingerprint: `claimed`, with the token
   *   that completes or releases it;
   * - otherwise the live record as it stands: `answered` (with its answer)
   *   or `in-flight`, and its fingerprint, which the caller compares.
   * @throws EventStoreUnavailableError when the store cannot be asked.
   * @throws IdempotencyUnsupportedError on a store that keeps no keys.
   */
  claim(request: IdempotencyClaim): Promise<ClaimResult>;

  /**
   * Stores the answer of a claim this caller holds. Keeps the record's
   * expiry (counted from its first claim).
   * @returns false if the claim was lost (taken over after `claimTtlMs`,
   *   or expired): nothing was stored.
   */
  complete(scope: string, key: string, token: string, answer: StoredAnswer): Promise<boolean>;

  /** Gives up an unanswered claim this caller holds, so a retry runs again. Idempotent. */
  release(scope: string, key: string, token: string): Promise<void>;

  close(): Promise<void>;
}

export interface IdempotencyClaim {
  /** Who asked, and where: principal, method, route pattern and path parameters. */
  scope: string;
  /** The client's `Idempotency-Key`. */
  key: string;
  /** SHA-256 (hex) of the request: a retry must send the same. */
  fingerprint: string;
  /** How long the record lives from this claim (`LEDGER_IDEMPOTENCY_TTL`). */
  ttlMs: number;
  /** How long an unanswered claim holds before a retry may take it over. */
  claimTtlMs: number;
}

export type ClaimResult =
  | { outcome: 'claimed'; token: string }
  | { outcome: 'in-flight'; fingerprint: string }
  | { outcome: 'answered'; fingerprint: string; answer: StoredAnswer };

/** An answer as it is replayed. The body never holds a contact in the clear (sealed before it is stored). */
export interface StoredAnswer {
  status: number;
  /** The headers that are replayed (Content-Type, ETag, Location, Ledger-Position), lower-case names. */
  headers: Record<string, string>;
  /** The body as sent, JSON text; '' for none. */
  body: string;
}

/** The configured store keeps no idempotency keys (EventStoreDB): a request with a key is refused. */
export class IdempotencyUnsupportedError extends Error {
  readonly code = 'idempotency.unsupported';
  constructor(readonly store: string) {
    super(`the ${store} store keeps no idempotency keys`);
    this.name = 'IdempotencyUnsupportedError';
  }
}

/** Nest injection token for the configured `IdempotencyStore`. */
export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');

/** Answer text as stored in a database column, and back. */
export function answerToText(answer: StoredAnswer): string {
  return JSON.stringify(answer);
}

export function answerFromText(text: string): StoredAnswer {
  return JSON.parse(text) as StoredAnswer;
}
