import type { ProblemDocument } from './api.types';
import { currentToken, signOut } from './session';

/** An answer that was not 2xx, with its problem document (title, detail, code, errors). */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDocument,
  ) {
    super(`${problem.title ?? `HTTP ${status}`}: ${problem.detail ?? ''}`);
    this.name = 'ApiProblem';
  }
}

/** Thrown instead of calling when there is no token: the app is already showing the sign-in page. */
export class NotSignedIn extends Error {
  constructor() {
    super('not signed in');
    this.name = 'NotSignedIn';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  query?: Query;
  body?: unknown;
  /** Sent as X-Correlation-Id: recorded on every event the call causes (the audit filters on it). */
  correlationId?: string;
  headers?: Record<string, string>;
  accept?: string;
  signal?: AbortSignal;
}

/** `/v1<path>?<query>`, leaving out parameters that are undefined or empty. */
export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return `/v1${path}${text === '' ? '' : `?${text}`}`;
}

/** The problem document of an error answer (or one made up from its status when the body is not one). */
export async function problemOf(response: Response): Promise<ApiProblem> {
  const text = await response.text().catch(() => '');
  let problem: ProblemDocument;
  try {
    problem = JSON.parse(text) as ProblemDocument;
  } catch {
    problem = { title: response.statusText || `HTTP ${response.status}`, detail: text.slice(0, 500) };
  }
  return new ApiProblem(response.status, { status: response.status, ...problem });
}

/**
 * One API call with the session's bearer token. A 401 signs out, with the
 * problem's words for the sign-in page; any other error answer throws an
 * ApiProblem. The caller reads the body.
 */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const token = currentToken();
  if (token === null) {
    signOut('Sign in to continue.');
    throw new NotSignedIn();
  }
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    Accept: options.accept ?? 'application/json',
    ...options.headers,
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.correlationId !== undefined && options.correlationId !== '')
    headers['X-Correlation-Id'] = options.correlationId;
  const response = await fetch(apiUrl(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    cache: 'no-store',
  });
  if (response.status === 401) {
    const refused = await problemOf(response);
    // Only if it is still the token that was refused: a sign-in meanwhile stays.
    if (currentToken() === token)
      signOut(
        `Signed out: the service refused the token (401${refused.problem.code ? ` ${refused.problem.code}` : ''}: ` +
          `${refused.problem.detail ?? 'unauthorised'}). Sign in again.`,
      );
    throw refused;
  }
  if (!response.ok) throw await problemOf(response);
  return response;
}

export async function getJson<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  return (await (await call(path, { query, signal })).json()) as T;
}

export async function sendJson<T>(
  method: 'POST' | 'PUT',
  path: string,
  body: unknown,
  correlationId?: string,
): Promise<T> {
  return (await (await call(path, { method, body, correlationId })).json()) as T;
}

/**
 * Whether `token` is one the service accepts, asked before it is kept: the
 * problem of a refusal, or undefined. Any principal may read the stats.
 */
export async function checkToken(token: string): Promise<ApiProblem | undefined> {
  const response = await fetch(apiUrl('/stats'), {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    cache: 'no-store',
  });
  return response.ok ? undefined : problemOf(response);
}
