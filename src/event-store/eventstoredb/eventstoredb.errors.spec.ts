import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  convertToCommandError,
} from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { EventStoreFailedError, EventStoreUnavailableError, InvalidPositionError } from '../event-store.errors.js';
import { toPortError } from './eventstoredb.errors.js';

/**
 * A gRPC status error as @grpc/grpc-js raises it (an Error with `code`,
 * `details` and `metadata`), turned into the client's error class by the
 * client's own converter: the shapes the adapter really receives.
 */
function fromServer(code: number, details: string, metadata: Record<string, string> = {}): Error {
  const raw = Object.assign(new Error(`${code} ${details}`), {
    code,
    details,
    metadata: { getMap: () => metadata },
  });
  return convertToCommandError(raw);
}

const context = { action: 'appending to site-a' };

describe('EventStoreDB errors → port errors', () => {
  it.each([
    { case: 'unavailable', error: new UnavailableError() },
    { case: 'deadline exceeded', error: new DeadlineExceededError() },
    { case: 'server timeout (gRPC ABORTED)', error: new TimeoutError() },
    { case: 'cancelled by the server', error: new CancelledError() },
    {
      case: 'gRPC UNAVAILABLE from the wire',
      error: fromServer(14, 'Server Is Not Ready'),
    },
    {
      case: 'not the leader',
      error: fromServer(5, 'Leader info available', {
        exception: 'not-leader',
        'leader-endpoint-host': 'node2',
        'leader-endpoint-port': '2113',
      }),
    },
    {
      case: 'unnamed RESOURCE_EXHAUSTED',
      error: fromServer(8, 'Server Is Too Busy'),
    },
    {
      case: 'discovery giving up',
      error: new Error('Failed to discover after 10 attempts.'),
    },
  ])('$case is transient: EventStoreUnavailableError', ({ error }) => {
    const translated = toPortError(error, context);
    expect(translated).toBeInstanceOf(EventStoreUnavailableError);
    expect((translated as Error).cause).toBe(error);
  });

  it('the client-side NotLeaderError is what the converter made', () => {
    const error = fromServer(5, 'Leader info available', {
      exception: 'not-leader',
      'leader-endpoint-host': 'node2',
      'leader-endpoint-port': '2113',
    });
    expect(error).toBeInstanceOf(NotLeaderError);
  });

  it.each([
    {
      case: 'access denied',
      error: new AccessDeniedError(),
      reason: 'access-denied',
    },
    {
      case: 'gRPC PERMISSION_DENIED tagged by the server',
      error: fromServer(7, 'Access Denied', { exception: 'access-denied' }),
      reason: 'access-denied',
    },
    {
      case: 'stream deleted',
      error: StreamDeletedError.fromStreamName('site-a'),
      reason: 'stream-deleted',
    },
    {
      case: 'the 1 MiB append limit',
      error: MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576),
      reason: 'append-too-large',
    },
    {
      case: 'a client-side invalid argument',
      error: new InvalidArgumentError('fromRevision value must be a non-negative integer'),
      reason: 'invalid-request',
    },
    {
      case: 'an untagged INVALID_ARGUMENT',
      error: fromServer(3, "'x' is not a valid EventStore.Core.Data.StreamId"),
      reason: 'invalid-request',
    },
    {
      case: 'an unknown server error',
      error: fromServer(2, 'Unexpected ReadAllResult: Error'),
      reason: 'failed',
    },
    {
      case: 'a bare UnknownError',
      error: new UnknownError(),
      reason: 'failed',
    },
  ])('$case is not transient: EventStoreFailedError ($reason)', ({ error, reason }) => {
    const translated = toPortError(error, context);
    expect(translated).toBeInstanceOf(EventStoreFailedError);
    expect(translated).not.toBeInstanceOf(EventStoreUnavailableError);
    expect(translated).toMatchObject({ reason, code: `store.${reason}` });
    expect((translated as Error).cause).toBe(error);
  });

  it('names the limit and the stream in its message', () => {
    expect((toPortError(MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576), context) as Error).message).toMatch(
      /appending to site-a.*1048576 bytes/,
    );
    expect((toPortError(StreamDeletedError.fromStreamName('site-a'), context) as Error).message).toMatch(
      /stream site-a was deleted/,
    );
  });

  it('an INVALID_ARGUMENT answering a position the caller sent is InvalidPositionError', () => {
    const translated = toPortError(fromServer(3, 'Invalid position.'), {
      action: 'reading $all',
      position: '10-10-0badc0de',
    });
    expect(translated).toBeInstanceOf(InvalidPositionError);
    expect(translated).toMatchObject({ position: '10-10-0badc0de' });
  });

  it("passes errors that are not the client's through unchanged", () => {
    const bug = new TypeError('undefined is not a function');
    expect(toPortError(bug, context)).toBe(bug);
    const already = new EventStoreUnavailableError('closed');
    expect(toPortError(already, context)).toBe(already);
    expect(toPortError('a string', context)).toBe('a string');
  });
});
