import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PostgresConnection } from '../event-store/postgres/postgres.connection.js';
import { toPortError } from '../event-store/postgres/postgres.errors.js';
import { createTableOnce } from '../event-store/postgres/postgres.schema.js';
import {
  type ClaimResult,
  type IdempotencyClaim,
  type IdempotencyStore,
  type StoredAnswer,
  answerFromText,
  answerToText,
} from './idempotency.port.js';

const SCHEMA = `
CREATE TABLE idempotency_keys (
  scope            text COLLATE "C" NOT NULL,
  key              text COLLATE "C" NOT NULL,
  fingerprint      text NOT NULL,
  token            uuid NOT NULL,
  -- NULL while the request is in flight; then {status, headers, body} as JSON text, contacts sealed.
  answer           text,
  claim_expires_at timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
`;

/** How often an instance deletes expired records (a claim of an expired key replaces it anyway). */
const SWEEP_EVERY_MS = 60_000;

/** A claim that keeps meeting a record that vanishes (released, expired) between two statements gives up. */
const CLAIM_ATTEMPTS = 5;

/**
 * Idempotency keys in the shared database, beside the events, so a retry
 * through any instance finds the first answer. Expiry is judged by the
 * database's clock (`now()`), like the leases. One statement claims (insert,
 * or take over an expired record or a stale claim of the same request), so
 * two instances claiming one key at once cannot both get it.
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  #lastSweep = 0;

  /** Creates the table if it is missing (saying so), then opens the store on the connection's pool. */
  static async open(
    connection: Pick<PostgresConnection, 'pool' | 'target'>,
    log: (message: string) => void,
  ): Promise<PostgresIdempotencyStore> {
    try {
      await createTableOnce(
        connection.pool,
        { table: 'idempotency_keys', description: 'the idempotency key table', ddl: SCHEMA },
        connection.target,
        log,
      );
    } catch (error) {
      throw toPortError(error, { action: 'creating the idempotency key table', target: connection.target });
    }
    return new PostgresIdempotencyStore(connection);
  }

  private constructor(private readonly connection: Pick<PostgresConnection, 'pool' | 'target'>) {}

  async claim(request: IdempotencyClaim): Promise<ClaimResult> {
    if (Date.now() - this.#lastSweep >= SWEEP_EVERY_MS) {
      this.#lastSweep = Date.now();
      await this.#query('DELETE FROM idempotency_keys WHERE expires_at <= now()', []);
    }
    const { scope, key, fingerprint, ttlMs, claimTtlMs } = request;
    for (let attempt = 1; ; attempt += 1) {
      const token = randomUUID();
      const { rowCount } = await this.#query(
        `INSERT INTO idempotency_keys AS record (scope, key, fingerprint, token, answer, claim_expires_at, expires_at)
         VALUES ($1, $2, $3, $4, NULL, now() + $5 * interval '1 millisecond', now() + $6 * interval '1 millisecond')
         ON CONFLICT (scope, key) DO UPDATE SET
           fingerprint = excluded.fingerprint, token = excluded.token, answer = NULL,
           claim_expires_at = excluded.claim_expires_at,
           -- A takeover of a stale claim keeps the record's life; an expired record starts a new one.
           expires_at = CASE WHEN record.expires_at <= now() THEN excluded.expires_at ELSE record.expires_at END
         WHERE record.expires_at <= now()
            OR (record.answer IS NULL AND record.claim_expires_at <= now() AND record.fingerprint = excluded.fingerprint)`,
        [scope, key, fingerprint, token, claimTtlMs, ttlMs],
      );
      if (rowCount === 1) return { outcome: 'claimed', token };
      const { rows } = await this.#query<{ fingerprint: string; answer: string | null }>(
        'SELECT fingerprint, answer FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at > now()',
        [scope, key],
      );
      const row = rows[0];
      if (row !== undefined) {
        return row.answer === null
          ? { outcome: 'in-flight', fingerprint: row.fingerprint }
          : { outcome: 'answered', fingerprint: row.fingerprint, answer: answerFromText(row.answer) };
      }
      // Released or expired between the two statements: claim again.
      if (attempt === CLAIM_ATTEMPTS) return { outcome: 'in-flight', fingerprint };
    }
  }

  async complete(scope: string, key: string, token: string, answer: StoredAnswer): Promise<boolean> {
    const { rowCount } = await this.#query(
      `UPDATE idempotency_keys SET answer = $4
       WHERE scope = $1 AND key = $2 AND token = $3 AND answer IS NULL AND expires_at > now()`,
      [scope, key, token, answerToText(answer)],
    );
    return rowCount === 1;
  }

  async release(scope: string, key: string, token: string): Promise<void> {
    await this.#query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND token = $3 AND answer IS NULL', [
      scope,
      key,
      token,
    ]);
  }

  /** The pool belongs to the stores together: closed by them. */
  async close(): Promise<void> {}

  /** Driver errors leave as the port's errors: an unreachable server is EventStoreUnavailableError. */
  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.connection.pool.query<R>(text, values);
    } catch (error) {
      throw toPortError(error, { action: 'asking for an idempotency key', target: this.connection.target });
    }
  }
}
