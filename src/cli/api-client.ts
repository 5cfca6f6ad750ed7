import { randomUUID } from 'node:crypto';
import type { Problem } from './api-types.js';

/** The service answered with a problem (RFC 9457): the CLI says its `code` and `detail`. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.code} — ${problem.detail}`);
    this.name = 'ProblemError';
  }
}

/** No answer at all: nothing listens at the URL, or the connection broke before the answer. */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
    /** For a write whose answer was lost: the key that replays it safely. */
    readonly idempotencyKey?: string,
  ) {
    super(`cannot reach the ledger at ${url} (${causeText(cause)})`, { cause });
    this.name = 'UnreachableError';
  }
}

/** A mistake on the command line that commander cannot see (a file that does not parse, a missing token). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ApiClientOptions {
  /** The service's base URL, without `/v1`. */
  url: string;
  token: string | undefined;
  /**
   * The `Idempotency-Key` of this invocation's write: the user's (to repeat
   * an earlier call safely), undefined for a random one, or false for none
   * (EventStoreDB refuses the header rather than run unprotected).
   */
  idempotencyKey: string | false | undefined;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** How often a write whose answer was lost is sent again, with the same key, and the pause before each retry. */
const WRITE_RETRY_PAUSES_MS = [300, 1_000];

/**
 * The service's HTTP API over Node's fetch: bearer token, JSON bodies, and
 * every non-2xx turned into a ProblemError. Writes carry one
 * `Idempotency-Key` per invocation, so when a connection breaks after the
 * request left, the retry gets the first answer instead of recording twice.
 */
export class ApiClient {
  readonly idempotencyKey: string | undefined;

  constructor(private readonly options: ApiClientOptions) {
    this.idempotencyKey = options.idempotencyKey === false ? undefined : (options.idempotencyKey ?? randomUUID());
  }

  get base(): string {
    return this.options.url.replace(/\/+$/, '');
  }

  async getJson<T>(path: string, query: Query = {}): Promise<T> {
    return (await (await this.request('GET', path, query)).json()) as T;
  }

  async getText(path: string, query: Query = {}): Promise<string> {
    return (await this.request('GET', path, query)).text();
  }

  /** A GET whose body the caller reads as it arrives (SSE, exports); `signal` ends it. */
  open(path: string, query: Query, accept: string, signal?: AbortSignal): Promise<Response> {
    return this.request('GET', path, query, { accept, ...(signal ? { signal } : {}) });
  }

  async send<T>(method: 'POST' | 'PUT', path: string, body: unknown): Promise<T> {
    const key = this.idempotencyKey;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.request(method, path, {}, { body, ...(key ? { key } : {}) });
        return (await response.json()) as T;
      } catch (error) {
        const pause = WRITE_RETRY_PAUSES_MS[attempt];
        if (key === undefined || pause === undefined || !worthRetrying(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private async request(
    method: string,
    path: string,
    query: Query,
    extra: { body?: unknown; key?: string; accept?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    if (!this.options.token) throw new UsageError('no token: set LEDGER_TOKEN or pass --token');
    const url = `${this.base}/v1${path}${queryString(query)}`;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.options.token}`,
      Accept: extra.accept ?? 'application/json',
    };
    if (extra.body !== undefined) headers['Content-Type'] = 'application/json';
    if (extra.key !== undefined) headers['Idempotency-Key'] = extra.key;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(extra.body === undefined ? {} : { body: JSON.stringify(extra.body) }),
        ...(extra.signal ? { signal: extra.signal } : {}),
      });
    } catch (error) {
      if (extra.signal?.aborted) throw error;
      throw new UnreachableError(this.base, error, extra.key);
    }
    if (!response.ok) throw new ProblemError(await problemOf(response));
    return response;
  }
}

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The answer's problem document; a proxy's HTML page or an empty body still becomes one sentence. */
async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (typeof parsed.code === 'string') return { ...parsed, status: response.status } as Problem;
  } catch {
    // not JSON: described below
  }
  const detail = text.trim().slice(0, 200) || response.statusText || 'no details';
  return { status: response.status, code: `http.${response.status}`, detail };
}

/**
 * A write is sent again only when its answer may have been lost (the
 * connection broke after it left) or its first attempt is still running;
 * a refused connection never reached the service, and a problem is an answer.
 */
function worthRetrying(error: unknown): boolean {
  if (error instanceof ProblemError) return error.problem.code === 'idempotency.in-flight';
  return error instanceof UnreachableError && codeOf(error.cause) !== 'ECONNREFUSED';
}

function codeOf(error: unknown): string | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function causeText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : undefined;
  return cause?.message || error.message;
}
