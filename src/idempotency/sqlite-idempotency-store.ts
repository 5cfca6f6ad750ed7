import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { decideClaim } from './idempotency-record.js';
import {
  type ClaimResult,
  type IdempotencyClaim,
  type IdempotencyStore,
  type StoredAnswer,
  answerFromText,
  answerToText,
} from './idempotency.port.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope            TEXT    NOT NULL,
  key              TEXT    NOT NULL,
  fingerprint      TEXT    NOT NULL,
  token            TEXT    NOT NULL,
  -- NULL while the request is in flight; then {status, headers, body} as JSON text, contacts sealed.
  answer           TEXT,
  -- ms since the epoch, by this process's clock (one process per data folder).
  claim_expires_at INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
`;

interface Row {
  fingerprint: string;
  token: string;
  answer: string | null;
  claim_expires_at: number;
  expires_at: number;
}

/**
 * Idempotency keys in their own SQLite file, `<data dir>/idempotency.db`,
 * beside the ledger rather than in it: the ledger file stays append-only
 * (its events refuse UPDATE and DELETE, and these rows are updated and
 * expire), a claim never waits for the ledger's write lock nor holds it,
 * and a read-model rebuild (read-models/*.db) never touches it. SQLite serves
 * one process per data folder, so this process's clock judges expiry.
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly #db: Database.Database;
  readonly #claim: Database.Transaction<(request: IdempotencyClaim) => ClaimResult>;
  readonly #complete: Database.Statement<[string, string, string, string, number]>;
  readonly #release: Database.Statement<[string, string, string]>;

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Answers are what the service told its callers: only its user reads them.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    const db = new Database(file, { timeout: 5_000 });
    try {
      db.pragma('journal_mode = WAL');
      // An answer that was sent must survive a crash, or a retry would run the command again.
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    const sweep = db.prepare<[number]>('DELETE FROM idempotency_keys WHERE expires_at <= ?');
    const find = db.prepare<[string, string], Row>(
      'SELECT fingerprint, token, answer, claim_expires_at, expires_at FROM idempotency_keys WHERE scope = ? AND key = ?',
    );
    const upsert = db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO idempotency_keys (scope, key, fingerprint, token, answer, claim_expires_at, expires_at)
       VALUES (?, ?, ?, ?, NULL, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, token = excluded.token,
         answer = NULL, claim_expires_at = excluded.claim_expires_at, expires_at = excluded.expires_at`,
    );
    this.#claim = db.transaction((request: IdempotencyClaim): ClaimResult => {
      const now = this.now();
      sweep.run(now);
      const row = find.get(request.scope, request.key);
      const decision = decideClaim(
        row && {
          fingerprint: row.fingerprint,
          token: row.token,
          answer: row.answer === null ? undefined : answerFromText(row.answer),
          claimExpiresAt: row.claim_expires_at,
          expiresAt: row.expires_at,
        },
        request,
        now,
      );
      if (decision.take === false) return decision.result;
      const token = randomUUID();
      const expiresAt = decision.take === 'over' && row ? row.expires_at : now + request.ttlMs;
      upsert.run(request.scope, request.key, request.fingerprint, token, now + request.claimTtlMs, expiresAt);
      return { outcome: 'claimed', token };
    });
    this.#complete = db.prepare(
      `UPDATE idempotency_keys SET answer = ?
       WHERE scope = ? AND key = ? AND token = ? AND answer IS NULL AND expires_at > ?`,
    );
    this.#release = db.prepare(
      'DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND token = ? AND answer IS NULL',
    );
  }

  async claim(request: IdempotencyClaim): Promise<ClaimResult> {
    // IMMEDIATE: the write lock is taken before the read, so two connections cannot both claim.
    return this.#run('claiming an idempotency key', () => this.#claim.immediate(request));
  }

  async complete(scope: string, key: string, token: string, answer: StoredAnswer): Promise<boolean> {
    return this.#run(
      'storing an answer',
      () => this.#complete.run(answerToText(answer), scope, key, token, this.now()).changes === 1,
    );
  }

  async release(scope: string, key: string, token: string): Promise<void> {
    this.#run('releasing an idempotency key', () => this.#release.run(scope, key, token));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** A busy or broken file leaves as the port's EventStoreUnavailableError (503), never a driver error. */
  #run<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof Database.SqliteError) {
        throw new EventStoreUnavailableError(`${action} failed: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}
