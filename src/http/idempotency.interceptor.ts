import { createHash } from 'node:crypto';
import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response as ExpressResponse } from 'express';
import { Observable, catchError, defer, from, mergeMap, of, throwError } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { canonicalJson } from '../common/canonical-json.js';
import { DomainError } from '../common/domain-error.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import {
  IDEMPOTENCY_STORE,
  type IdempotencyStore,
  IdempotencyUnsupportedError,
  type StoredAnswer,
} from '../idempotency/idempotency.port.js';
import { PersonalDataCodec } from '../ledger/personal-data.codec.js';
import { versionEtagOf } from './etag.js';
import { sealAnswerContacts, openAnswerContacts } from './idempotent-answer.js';
import { LEDGER_POSITION } from './ledger-position.interceptor.js';
import { ProblemDetailsFilter } from './problem-details.filter.js';

/** Sent with a POST or PUT: a retry with the same key and request gets the first answer. */
export const IDEMPOTENCY_KEY = 'Idempotency-Key';
/** Answered, `true`, on a replayed answer. */
export const IDEMPOTENT_REPLAYED = 'Idempotent-Replayed';

/** 1–255 printable ASCII characters (Node.js trims the header's outer spaces). */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/**
 * How long an unanswered claim holds before a retry of the same request may
 * take it over (its instance crashed). Longer than any command takes; never
 * longer than the key itself lives.
 */
export const CLAIM_TTL_MS = 60_000;

const WRITES = new Set(['POST', 'PUT']);

/** The headers a replay repeats: what the first answer said about the result. */
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', LEDGER_POSITION.toLowerCase()];

/**
 * Who asked, and where: the same key by another principal, on another route
 * or for another site (path parameters) is another request.
 */
export function idempotencyScope(
  principal: string,
  method: string,
  route: string,
  params: Readonly<Record<string, string>>,
): string {
  return `${principal} ${method} ${route} ${canonicalJson(params)}`;
}

/**
 * What a retry must repeat: SHA-256 (hex) of the method, the path (with any
 * query), `If-Match` and the body in canonical JSON, so key order and
 * spacing do not matter.
 */
export function requestFingerprint(method: string, url: string, ifMatch: string | undefined, body: unknown): string {
  const request = canonicalJson({ method, url, ifMatch: ifMatch ?? null, body: body ?? null });
  return createHash('sha256').update(request).digest('hex');
}

interface HeldClaim {
  scope: string;
  key: string;
  token: string;
}

const problems = new ProblemDetailsFilter();

/**
 * `Idempotency-Key` on every POST and PUT (SPEC §9), as payment APIs do it:
 * - the first request claims the key (in flight), runs, and its answer is
 *   stored: status, body and the headers that matter;
 * - a retry with the same key and request gets that answer again, with
 *   `Idempotent-Replayed: true`, and records nothing;
 * - the same key with another request: 422 `idempotency.key-reused`;
 * - the same request while the first is still running: 409
 *   `idempotency.in-flight`.
 * Kept: every 2xx, and every 4xx a command decided (409 rule conflicts, 412,
 * 422 rejected plans, which are recorded). Released, so a retry runs again:
 * a 400 (the input never reached a decision: fix it and send it again), 409
 * `ledger.concurrent-change` and every 5xx (a retry may succeed), and a crash
 * (the claim lapses after CLAIM_TTL_MS). Contacts in a stored answer are
 * sealed with the site's key like the events, so after a purge a replay
 * shows them `{"redacted": true}`.
 *
 * Runs outside LedgerPositionInterceptor (registered before it), so the
 * first answer's `Ledger-Position` is stored and a replay never runs it.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');
  private readonly claimTtlMs: number;

  constructor(
    @Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly contacts: PersonalDataCodec,
  ) {
    this.claimTtlMs = Math.min(CLAIM_TTL_MS, config.idempotencyTtlMs);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<Request & AuthenticatedRequest>();
    if (!WRITES.has(request.method)) return next.handle();
    const key = request.header(IDEMPOTENCY_KEY);
    if (key === undefined) return next.handle();
    const response = http.getResponse<ExpressResponse>();
    return defer(() => this.begin(request, key)).pipe(
      mergeMap((begun) => ('replay' in begun ? of(begun.replay) : this.run(begun.claim, request, response, next))),
    );
  }

  /** Claims the key, or answers what stands: the stored answer, or a refusal. */
  private async begin(
    request: Request & AuthenticatedRequest,
    key: string,
  ): Promise<{ claim: HeldClaim } | { replay: Response }> {
    if (!KEY_PATTERN.test(key)) {
      throw new DomainError(
        'invalid',
        'request.invalid-header',
        `${IDEMPOTENCY_KEY} must be 1 to 255 printable ASCII characters`,
        [{ field: IDEMPOTENCY_KEY, problem: 'invalid', detail: 'expected 1 to 255 characters from space to ~' }],
      );
    }
    const params = (request.params ?? {}) as Record<string, string>;
    const scope = idempotencyScope(request.principal?.id ?? '-', request.method, routeOf(request), params);
    const fingerprint = requestFingerprint(
      request.method,
      request.originalUrl,
      request.header('if-match'),
      request.body,
    );
    let claimed;
    try {
      claimed = await this.store.claim({
        scope,
        key,
        fingerprint,
        ttlMs: this.config.idempotencyTtlMs,
        claimTtlMs: this.claimTtlMs,
      });
    } catch (error) {
      if (!(error instanceof IdempotencyUnsupportedError)) throw error;
      throw new DomainError(
        'invalid',
        error.code,
        `${error.message}: send the request without ${IDEMPOTENCY_KEY}, or run the ledger on sqlite or postgres`,
        [{ field: IDEMPOTENCY_KEY, problem: 'unsupported', detail: error.message }],
      );
    }
    if (claimed.outcome === 'claimed') return { claim: { scope, key, token: claimed.token } };
    if (claimed.fingerprint !== fingerprint) {
      throw new DomainError(
        'rejected',
        'idempotency.key-reused',
        `this ${IDEMPOTENCY_KEY} was used for another request (method, path, If-Match or body differ); use a new key for a new request`,
      );
    }
    if (claimed.outcome === 'in-flight') {
      throw new DomainError(
        'conflict',
        'idempotency.in-flight',
        `a request with this ${IDEMPOTENCY_KEY} is still running; retry once it has answered`,
      );
    }
    return { replay: await this.replay(claimed.answer, siteIdOf(request)) };
  }

  private run(claim: HeldClaim, request: Request, response: ExpressResponse, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      mergeMap(async (body: unknown) => {
        await this.keepAnswer(claim, request, response, body);
        return body;
      }),
      catchError((error: unknown) =>
        from(this.settleFailure(claim, request, error)).pipe(mergeMap(() => throwError(() => error))),
      ),
    );
  }

  /** Stores a successful answer. Never fails the request: its command is done, whatever the store says. */
  private async keepAnswer(
    claim: HeldClaim,
    request: Request,
    response: ExpressResponse,
    body: unknown,
  ): Promise<void> {
    const status = response.statusCode;
    const headers: Record<string, string> = {};
    if (body !== undefined && body !== null) headers['content-type'] = 'application/json; charset=utf-8';
    const etag = versionEtagOf(status, body);
    if (etag !== undefined) headers['etag'] = etag;
    for (const name of REPLAYED_HEADERS) {
      const value = response.getHeader(name);
      if (value !== undefined && headers[name] === undefined) headers[name] = String(value);
    }
    await this.keep(claim, request, status, headers, body ?? undefined);
  }

  /** After a failed command: keep a decided 4xx, release anything a retry may change. */
  private async settleFailure(claim: HeldClaim, request: Request, error: unknown): Promise<void> {
    const problem = problems.toProblem(error);
    const retryMayDiffer =
      problem.status >= 500 || problem.status === 400 || problem.code === 'ledger.concurrent-change';
    if (retryMayDiffer) {
      await this.release(claim);
      return;
    }
    await this.keep(
      claim,
      request,
      problem.status,
      // As ProblemDetailsFilter sends it: express adds the charset to a text body.
      { 'content-type': 'application/problem+json; charset=utf-8' },
      { ...problem, instance: request.originalUrl },
    );
  }

  private async keep(
    claim: HeldClaim,
    request: Request,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<void> {
    try {
      const sealed =
        body === undefined ? '' : JSON.stringify(await sealAnswerContacts(this.contacts, body, siteIdOf(request)));
      const stored = await this.store.complete(claim.scope, claim.key, claim.token, { status, headers, body: sealed });
      if (!stored) {
        this.logger.warn(
          `the answer to ${request.method} ${request.originalUrl} was not kept: its ${IDEMPOTENCY_KEY} claim was taken over or expired while it ran`,
        );
      }
    } catch (error) {
      this.logger.warn(
        `the answer to ${request.method} ${request.originalUrl} could not be kept (${error instanceof Error ? error.message : String(error)}); a retry will run it again once the claim lapses`,
      );
      await this.release(claim);
    }
  }

  private async release(claim: HeldClaim): Promise<void> {
    await this.store.release(claim.scope, claim.key, claim.token).catch((error: unknown) => {
      this.logger.warn(
        `an ${IDEMPOTENCY_KEY} claim could not be released (${error instanceof Error ? error.message : String(error)}); it lapses after ${this.claimTtlMs} ms`,
      );
    });
  }

  /** The stored answer as a web Response: its status and headers win over the route's. */
  private async replay(answer: StoredAnswer, siteId: string | undefined): Promise<Response> {
    const body =
      answer.body === ''
        ? null
        : JSON.stringify(await openAnswerContacts(this.contacts, JSON.parse(answer.body) as unknown, siteId));
    return new Response(body, { status: answer.status, headers: { ...answer.headers, [IDEMPOTENT_REPLAYED]: 'true' } });
  }
}

/** The route's `:siteId`, for contacts in an answer that does not name its site. */
function siteIdOf(request: Request): string | undefined {
  const siteId: unknown = request.params?.['siteId'];
  return typeof siteId === 'string' ? siteId : undefined;
}

/** The route's pattern (`/v1/sites/:siteId/suspend`), as Express matched it. */
function routeOf(request: Request): string {
  const path = (request as Request & { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' ? path : request.path;
}
