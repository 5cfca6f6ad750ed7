/**
 * How an error answers over HTTP. Domain code says what went wrong in its
 * own terms; the one exception filter turns the kind into a status.
 */
export type ErrorKind =
  | 'invalid' // 400
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'method-not-allowed' // 405
  | 'conflict' // 409
  | 'precondition-failed' // 412
  | 'rejected' // 422
  | 'unavailable' // 503: nothing wrong with the request; retry it shortly
  | 'integrity'; // 500: the stored ledger does not hold (tampered); never the client's doing

/** One of several things wrong with a request (RFC 9457 extension member). */
export interface Problem {
  id?: string;
  field?: string;
  problem: string;
  detail: string;
}

/**
 * A rule was broken. `code` is stable (`site.legal-hold`,
 * `operation.self-approval`) so clients can branch on it; the message is for
 * people.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly problems?: readonly Problem[],
    /** Extra members for the problem document, e.g. an operationId. */
    readonly extensions?: Readonly<Record<string, string | number | boolean>>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
