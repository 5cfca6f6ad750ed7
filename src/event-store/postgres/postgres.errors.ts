import pg from 'pg';
import { EventStoreFailedError, EventStoreUnavailableError } from '../event-store.errors.js';

/**
 * The driver's errors → the port's errors. Only failures that can pass by
 * themselves become `EventStoreUnavailableError` (a 503; the read models
 * and the caller may retry): the server cannot be reached, restarts, is out
 * of connections or resources, or a lock or statement waited too long. A
 * denial or anything else the server refuses becomes `EventStoreFailedError`
 * (never retried), so a misconfiguration fails loudly instead of retrying
 * forever. Errors that the adapter interprets itself (unique violations of
 * the events table) are handled before this.
 *
 * This is also the key store's translator: one of the adapter's public
 * pieces (see `postgres.connection.ts`).
 */

/** Socket errors of a server that is down, restarting or out of reach. */
const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** What `pg` and `pg-pool` say, without a code, when a connection is lost, times out or cannot be used. */
const CONNECTION_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable/,
  /^Cannot use a pool after calling end on the pool/,
  /^Query read timeout/,
];

/** SQLSTATEs of transient failures (PostgreSQL manual, appendix A). */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: the server is stopping, or an operator ended the session
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout: the server ended a stuck session
  '55P03', // lock_not_available: lock_timeout passed (another writer held the append lock)
  '57014', // query_canceled: statement_timeout passed
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** SQLSTATE classes of transient failures: 08 connection exception, 53 insufficient resources (connections, disk, memory). */
const TRANSIENT_CLASSES: readonly string[] = ['08', '53'];

const ACCESS_DENIED_SQLSTATES: ReadonlySet<string> = new Set([
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '42501', // insufficient_privilege
]);

export interface ErrorContext {
  /** What failed, for the message: `appending to site-a`. */
  action: string;
  /** Where, without credentials: `tenant_ledger on 127.0.0.1:5432`. */
  target: string;
}

/** Whether `error` says the connection to the server failed or the server could not serve for now. */
export function isTransientPostgresError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? '';
    return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_CLASSES.some((prefix) => code.startsWith(prefix));
  }
  // Node reports a refused connection to every address of a host as one AggregateError.
  if (error instanceof AggregateError && error.errors.some(isTransientPostgresError)) return true;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  return CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * The port's error for `error`, or `error` unchanged when it is not the
 * driver's (a bug of ours, a port error already).
 */
export function toPortError(error: unknown, context: ErrorContext): unknown {
  if (!(error instanceof Error)) return error;
  const { action, target } = context;
  if (isTransientPostgresError(error)) {
    return new EventStoreUnavailableError(`PostgreSQL (${target}) ${action} failed: ${describe(error)}`, {
      cause: error,
    });
  }
  if (!(error instanceof pg.DatabaseError)) return error;
  const refused = `PostgreSQL (${target}) refused ${action}: ${describe(error)}`;
  if (ACCESS_DENIED_SQLSTATES.has(error.code ?? '')) {
    return new EventStoreFailedError('access-denied', `${refused} (check the user in the URL and its grants)`, {
      cause: error,
    });
  }
  return new EventStoreFailedError('failed', refused, { cause: error });
}

function describe(error: Error): string {
  if (error instanceof pg.DatabaseError && error.code !== undefined) return `${error.message} (SQLSTATE ${error.code})`;
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map((each: unknown) => (each instanceof Error ? each.message : String(each))).join('; ');
  }
  return error.message;
}
