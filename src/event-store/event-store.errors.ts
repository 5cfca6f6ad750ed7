import type { AppendResult } from './event-store.port.js';

/**
 * Every error the store port throws, the same for every adapter: each
 * adapter turns its native errors into these, so callers never see a
 * driver's error types. Only `EventStoreUnavailableError` means "try again
 * later"; the others say what is wrong and repeating the call will not fix it.
 */

/** The stream is not at the version the append expected; nothing was written. */
export class WrongExpectedVersionError extends Error {
  readonly code = 'stream.version-conflict';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId} is at version ${actualVersion}, not the expected ${expectedVersion}`);
    this.name = 'WrongExpectedVersionError';
  }
}

/**
 * The store cannot be reached or is busy: a transient failure, the request
 * may be retried. Nothing else is reported with this class, so a caller that
 * retries on it never retries forever on a request the store refuses.
 */
export class EventStoreUnavailableError extends Error {
  readonly code = 'store.unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}

/** The same event id twice: within one append, or (where the engine can tell) already stored. */
export class DuplicateEventIdError extends Error {
  readonly code = 'store.duplicate-event-id';
  constructor(readonly eventId: string) {
    super(`an event with id ${eventId} is already stored or appended twice`);
    this.name = 'DuplicateEventIdError';
  }
}

/** An event id outside the port's rule (see `EventStore.append`); thrown before any I/O. */
export class InvalidEventIdError extends RangeError {
  readonly code = 'store.invalid-event-id';
  constructor(readonly eventId: string) {
    super(
      `eventId must be a lowercase RFC 4122 UUID (8-4-4-4-12 hex, version 1-8, variant 10xx), not ${JSON.stringify(eventId)}`,
    );
    this.name = 'InvalidEventIdError';
  }
}

/**
 * A string that is not a position this store issued: a typo, a position of
 * another store, a checkpoint from another engine. A RangeError, because the
 * value lies outside the positions the store knows.
 */
export class InvalidPositionError extends RangeError {
  readonly code = 'store.invalid-position';
  constructor(
    readonly position: string,
    detail = 'is not a position issued by this store',
  ) {
    super(`${JSON.stringify(position)} ${detail}`);
    this.name = 'InvalidPositionError';
  }
}

/**
 * `appendMany` failed part-way on an engine that commits stream by stream.
 * `completed` holds the results of the first `completed.length` appends, in
 * order: those are in the store. `cause` is the failure of the next append,
 * which may itself have been committed when the cause is
 * `EventStoreUnavailableError` (its answer was lost); nothing after it was
 * written. Appending `appends.slice(completed.length)` again with the same
 * events finishes the work (see the retry rule on `EventStore.append`).
 */
export class PartialAppendError extends Error {
  readonly code = 'store.partial-append';
  constructor(
    readonly completed: readonly AppendResult[],
    cause: unknown,
  ) {
    super(
      `${completed.length} of the appends were committed before the next one failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'PartialAppendError';
  }
}

/**
 * Why the store refused or failed a request for good (not a transient
 * failure): `access-denied` (credentials or ACLs), `stream-deleted` (an
 * operator deleted a ledger stream in the engine), `append-too-large` (over
 * the engine's limit for one append), `invalid-request` (the engine rejected
 * an argument), `failed` (anything else the engine reported).
 */
export type EventStoreFailure = 'access-denied' | 'stream-deleted' | 'append-too-large' | 'invalid-request' | 'failed';

/** The store refused or failed the request; retrying will not help (see `EventStoreFailure`). */
export class EventStoreFailedError extends Error {
  readonly code: `store.${EventStoreFailure}`;
  constructor(
    readonly reason: EventStoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = `store.${reason}`;
    this.name = 'EventStoreFailedError';
  }
}
