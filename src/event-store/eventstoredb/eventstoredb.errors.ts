import { ErrorType, convertToCommandError, isCommandError, type CommandError } from '@eventstore/db-client';
import { EventStoreFailedError, EventStoreUnavailableError, InvalidPositionError } from '../event-store.errors.js';

/**
 * The client's errors → the port's errors, by `error.type`.
 *
 * `isCommandError` is true for every error the client raises, an access
 * denial as much as a lost connection, so it says nothing about retrying.
 * Only failures that can pass by themselves become
 * `EventStoreUnavailableError` (a 503, and the read models retry); a denial,
 * a deleted stream, an append over the server's size limit or a rejected
 * argument become `EventStoreFailedError` (a 500, or 413 for the size, never
 * retried), so a misconfiguration fails loudly instead of retrying forever.
 *
 * This is also the key store's translator: one of the adapter's public
 * pieces (see `eventstoredb.client.ts`).
 */

/** gRPC status codes, fixed by the gRPC spec (the client reports them on `error.code`). */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  ABORTED: 10,
  UNAVAILABLE: 14,
} as const;

const TRANSIENT_TYPES: ReadonlySet<ErrorType> = new Set([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  // gRPC ABORTED: the server's own "Operation timed out".
  ErrorType.TIMEOUT,
  // The server cancelled a long-running call (the client drops its own cancellations).
  ErrorType.CANCELLED,
  // The call reached a follower; the client reconnects to the leader it names.
  ErrorType.NOT_LEADER,
]);

/** The gRPC codes gRPC itself calls retryable, when the client could not name the error. */
const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([
  GRPC.UNAVAILABLE,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.ABORTED,
  GRPC.DEADLINE_EXCEEDED,
]);

export interface ErrorContext {
  /** What failed, for the message: `appending to site-a`. */
  action: string;
  /**
   * The position the call sent, if any: the server answers a log position
   * that is no record boundary with a bare INVALID_ARGUMENT.
   */
  position?: string;
}

/**
 * The port's error for `error`, or `error` unchanged when it is not the
 * client's (a bug of ours, a port error already). Errors a caller interprets
 * itself (wrong expected version, stream not found) are handled before this.
 */
export function toPortError(error: unknown, context: ErrorContext): unknown {
  if (!(error instanceof Error)) return error;
  const command = asCommandError(error);
  if (command === undefined) {
    // Cluster discovery gives up with a plain Error.
    return error.message.startsWith('Failed to discover') ? unavailable(error, context) : error;
  }
  if (TRANSIENT_TYPES.has(command.type)) return unavailable(command, context);
  const what = `EventStoreDB refused ${context.action}`;
  switch (command.type) {
    case ErrorType.ACCESS_DENIED:
      return new EventStoreFailedError(
        'access-denied',
        `${what}: access denied (check the user in EVENTSTORE_CONNECTION_STRING and the stream ACLs)`,
        { cause: command },
      );
    case ErrorType.STREAM_DELETED:
      return new EventStoreFailedError(
        'stream-deleted',
        `${what}: stream ${command.streamName} was deleted in EventStoreDB (the ledger never deletes; an operator did)`,
        { cause: command },
      );
    case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED:
      return new EventStoreFailedError(
        'append-too-large',
        `${what}: the append is larger than the server's limit of ${command.maxAppendSize} bytes`,
        { cause: command },
      );
    case ErrorType.INVALID_ARGUMENT:
      return invalidArgument(command, context);
    case ErrorType.UNKNOWN:
      // The client names only errors the server tags; the rest keep their gRPC code.
      if (command.code === GRPC.INVALID_ARGUMENT) return invalidArgument(command, context);
      if (command.code !== undefined && TRANSIENT_GRPC_CODES.has(command.code)) return unavailable(command, context);
      break;
  }
  return new EventStoreFailedError('failed', `${what}: ${command.type}: ${command.message}`, { cause: command });
}

/**
 * The client's own error classes, or a raw gRPC status error (an append
 * stream that broke) converted the way the client converts them.
 */
function asCommandError(error: Error): CommandError | undefined {
  if (isCommandError(error)) return error;
  const isGrpcStatus = 'code' in error && typeof error.code === 'number' && 'details' in error;
  if (!isGrpcStatus) return undefined;
  const converted = convertToCommandError(error);
  return isCommandError(converted) ? converted : undefined;
}

function unavailable(cause: Error & { type?: string }, { action }: ErrorContext): EventStoreUnavailableError {
  const type = cause.type === undefined ? '' : ` (${cause.type})`;
  return new EventStoreUnavailableError(`EventStoreDB ${action} failed${type}: ${cause.message}`, { cause });
}

function invalidArgument(command: CommandError, { action, position }: ErrorContext): Error {
  if (position !== undefined) {
    return new InvalidPositionError(position, `is not a position in this EventStoreDB log (${command.message})`);
  }
  return new EventStoreFailedError(
    'invalid-request',
    `EventStoreDB refused ${action}: invalid argument: ${command.message}`,
    { cause: command },
  );
}
