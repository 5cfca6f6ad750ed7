/**
 * The store's errors, the same for every adapter: each adapter turns its
 * native errors into these, so callers never see a driver's error types.
 */
export class WrongExpectedVersionError extends Error {
  readonly code = 'stream.version-conflict';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `stream ${streamId} is at version ${actualVersion}, not the expected ${expectedVersion}`,
    );
    this.name = 'WrongExpectedVersionError';
  }
}

/** The store cannot be reached or failed; the request may be retried. */
export class EventStoreUnavailableError extends Error {
  readonly code = 'store.unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}
