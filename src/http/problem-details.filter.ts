import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  NotFoundException,
} from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, type ErrorKind, type Problem } from '../common/domain-error.js';
import {
  EventStoreFailedError,
  EventStoreUnavailableError,
  InvalidPositionError,
  PartialAppendError,
  WrongExpectedVersionError,
} from '../event-store/event-store.errors.js';
import { noteProblem } from '../observability/request-log.js';

const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'precondition-failed': 412,
  rejected: 422,
  unavailable: 503,
  integrity: 500,
};

/** An RFC 9457 problem document, with the ledger's stable `code`. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: readonly Problem[];
  [extension: string]: unknown;
}

/**
 * The one place errors become HTTP answers: every error leaves as
 * `application/problem+json` (SPEC §6). Controllers never catch domain
 * errors themselves. The request's log line (request-log.ts) carries the
 * problem's code, and for a server error the error with its stack.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<{ originalUrl?: string }>();
    const problem = this.toProblem(exception);
    noteProblem(response, problem.code, problem.status >= 500 ? exception : undefined);
    if (response.headersSent) return;
    if (problem.status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="tenant-ledger"');
    if (problem.status === 405 && typeof problem['allow'] === 'string') response.setHeader('Allow', problem['allow']);
    // Every 503 here is a moment's condition (a store restarting, a read model catching up).
    if (problem.status === 503) response.setHeader('Retry-After', '1');
    response
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify({ ...problem, instance: request.originalUrl }));
  }

  /** The problem `exception` answers as (the idempotency interceptor keeps it to replay). */
  toProblem(exception: unknown): ProblemDocument {
    if (exception instanceof DomainError) {
      return problem(STATUS_OF[exception.kind], exception.code, exception.message, {
        ...(exception.problems ? { errors: exception.problems } : {}),
        ...exception.extensions,
      });
    }
    if (exception instanceof WrongExpectedVersionError) {
      return problem(409, exception.code, `${exception.message}; retry the request`);
    }
    if (exception instanceof EventStoreUnavailableError) {
      return problem(503, exception.code, 'the event store is unavailable; retry later');
    }
    if (exception instanceof InvalidPositionError) {
      return problem(400, exception.code, `${exception.message}: pass back a position this ledger issued`);
    }
    if (exception instanceof EventStoreFailedError) {
      // Only the size of an append can follow from what a client sent; the rest is the operator's to fix.
      return exception.reason === 'append-too-large'
        ? problem(413, exception.code, 'the change is larger than the event store accepts in one append')
        : problem(500, exception.code, `the event store refused the request (${exception.reason}); it has been logged`);
    }
    if (exception instanceof PartialAppendError) {
      // Answered as its cause, so a conflict stays a 409 and an outage a 503; the code tells it apart.
      const cause = this.toProblem(exception.cause);
      return problem(
        cause.status,
        exception.code,
        `part of the change was recorded before the store failed: ${cause.detail}`,
      );
    }
    // The Express adapter wraps body-parser errors in an HttpException; the cause says what was wrong.
    const bodyError = exception instanceof HttpException ? exception.cause : exception;
    if (isBodyParserError(bodyError)) {
      return bodyError.type === 'entity.parse.failed'
        ? problem(400, 'request.malformed-json', 'the request body is not valid JSON', {
            errors: [{ field: 'body', problem: 'malformed-json', detail: bodyError.message }],
          })
        : problem(bodyError.status, `request.${bodyError.type.replace(/^entity\./, '')}`, bodyError.message);
    }
    if (exception instanceof NotFoundException) {
      // Only Nest's router throws it, for a path or method no route serves; the ledger's own 404s are DomainErrors.
      return problem(404, 'route.not-found', httpDetail(exception));
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return problem(status, `http.${slug(HttpStatus[status] ?? 'error')}`, httpDetail(exception));
    }
    return problem(500, 'internal', 'an unexpected error occurred; it has been logged');
  }
}

function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): ProblemDocument {
  return {
    type: `urn:problem:tenant-ledger:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Errors thrown by Express's body parser carry a `type` such as `entity.parse.failed`. */
function isBodyParserError(error: unknown): error is Error & { type: string; status: number } {
  if (!(error instanceof Error)) return false;
  const { type, status } = error as Error & { type?: unknown; status?: unknown };
  return typeof type === 'string' && type.startsWith('entity.') && typeof status === 'number';
}

function httpDetail(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}

const slug = (name: string): string => name.toLowerCase().replace(/_/g, '-');
