import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EventStoreFailedError, EventStoreUnavailableError, WrongExpectedVersionError } from '../event-store.errors.js';
import { toPortError } from './postgres.errors.js';

/*
 * The translation table, without a server: the errors are built as the
 * driver builds them (its DatabaseError with a SQLSTATE, Node's socket
 * errors, pg-pool's plain messages). The server specs check real ones.
 */
const context = { action: 'appending to site-a', target: 'tenant_ledger on 127.0.0.1:5432' };

function databaseError(code: string, message = `failed with ${code}`): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

function socketError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
}

describe('toPortError', () => {
  it.each([
    ['admin_shutdown (server stopping)', databaseError('57P01')],
    ['crash_shutdown', databaseError('57P02')],
    ['cannot_connect_now (starting up)', databaseError('57P03')],
    ['too_many_connections', databaseError('53300')],
    ['disk_full', databaseError('53100')],
    ['connection_failure (class 08)', databaseError('08006')],
    ['lock_not_available (lock_timeout)', databaseError('55P03')],
    ['query_canceled (statement_timeout)', databaseError('57014')],
    ['idle_in_transaction_session_timeout', databaseError('25P03')],
    ['deadlock_detected', databaseError('40P01')],
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
    ['ECONNRESET', socketError('ECONNRESET')],
    ['ETIMEDOUT', socketError('ETIMEDOUT')],
    ['EPIPE', socketError('EPIPE')],
    ['every address refused', new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')])],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a connection timeout', new Error('Connection terminated due to connection timeout')],
    ['a pool that found no connection in time', new Error('timeout exceeded when trying to connect')],
    ['a client that broke before', new Error('Client has encountered a connection error and is not queryable')],
    ['a pool that was ended', new Error('Cannot use a pool after calling end on the pool')],
  ])('%s → EventStoreUnavailableError, naming the target and keeping the cause', (_case, error) => {
    const translated = toPortError(error, context);
    expect(translated).toBeInstanceOf(EventStoreUnavailableError);
    expect((translated as Error).message).toContain('PostgreSQL (tenant_ledger on 127.0.0.1:5432) appending to site-a');
    expect((translated as Error).cause).toBe(error);
  });

  it.each([
    ['insufficient_privilege', '42501'],
    ['invalid_password', '28P01'],
  ])('%s → EventStoreFailedError access-denied', (_case, code) => {
    const translated = toPortError(databaseError(code), context);
    expect(translated).toBeInstanceOf(EventStoreFailedError);
    expect(translated).toMatchObject({ reason: 'access-denied', code: 'store.access-denied' });
  });

  it('any other refusal of the server → EventStoreFailedError failed, with its SQLSTATE', () => {
    const translated = toPortError(databaseError('42P01', 'relation "events" does not exist'), context);
    expect(translated).toBeInstanceOf(EventStoreFailedError);
    expect(translated).toMatchObject({ reason: 'failed' });
    expect((translated as Error).message).toContain('relation "events" does not exist (SQLSTATE 42P01)');
  });

  it('leaves errors that are not the driver’s alone', () => {
    const bug = new TypeError('x is undefined');
    const conflict = new WrongExpectedVersionError('site-a', 0, 1);
    expect(toPortError(bug, context)).toBe(bug);
    expect(toPortError(conflict, context)).toBe(conflict);
    expect(toPortError('a string', context)).toBe('a string');
  });
});
