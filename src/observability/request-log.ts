import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the problem filter leaves what went wrong with a request, for its log line. */
const PROBLEM = Symbol('problem');

interface Noted {
  [PROBLEM]?: { code: string };
  /** pino-http logs `res.err` (with its stack) on the request's line. */
  err?: unknown;
}

/**
 * Notes on a response the problem code it was answered with, and for a
 * server error the error itself, so the request's one log line carries them.
 */
export function noteProblem(response: object, code: string, error?: unknown): void {
  const noted = response as Noted;
  noted[PROBLEM] = { code };
  if (error !== undefined) noted.err = error;
}

/** The problem code the filter answered a response with, if any. */
export function notedProblemCode(response: object): string | undefined {
  return (response as Noted)[PROBLEM]?.code;
}

/** The server error the problem filter noted on a response, if any. */
export function notedError(response: object): unknown {
  return (response as Noted).err;
}

/** The route pattern Express matched (`/v1/sites/:siteId`); undefined when no route did. */
export function routeOf(request: IncomingMessage): string | undefined {
  const route = (request as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? route.path : undefined;
}

/**
 * What a finished request's log line says. Deliberately not the request
 * itself: headers carry the bearer token, query strings carry filters on
 * actors, bodies carry contacts. The path (without its query string) names
 * the resource.
 */
export function requestLogFields(
  request: IncomingMessage,
  response: ServerResponse,
  durationMs: number,
): Record<string, unknown> {
  const url = (request as { originalUrl?: string }).originalUrl ?? request.url ?? '';
  const correlationId = (request as { correlationId?: unknown }).correlationId;
  const route = routeOf(request);
  const problem = (response as Noted)[PROBLEM];
  return {
    method: request.method,
    path: url.split('?')[0],
    ...(route === undefined ? {} : { route }),
    status: response.statusCode,
    durationMs,
    ...(typeof correlationId === 'string' ? { correlationId } : {}),
    ...(problem === undefined ? {} : { code: problem.code }),
  };
}

/**
 * Successes at debug (each command has its own line at info), refusals at
 * info, server errors (`failed`: an error was thrown) at error; a 5xx
 * answered on purpose (/health/ready saying not ready) at warn.
 */
export function requestLogLevel(status: number, failed: boolean): 'debug' | 'info' | 'warn' | 'error' {
  if (failed) return 'error';
  if (status >= 500) return 'warn';
  return status >= 400 ? 'info' : 'debug';
}

export function requestLogMessage(status: number): string {
  if (status >= 500) return 'request failed';
  return status >= 400 ? 'request refused' : 'request completed';
}
