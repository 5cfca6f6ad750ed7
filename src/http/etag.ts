import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../common/domain-error.js';

/**
 * Sets `ETag: "<version>"` on every successful answer that carries a
 * `version` (site state). A middleware around `response.json` rather than a
 * Nest interceptor: an interceptor puts each request of its routes through
 * an rxjs pipeline, which cost a site read about a fifth of its throughput
 * (`npm run bench -- --only http`).
 */
export function versionEtag(_request: Request, response: Response, next: NextFunction): void {
  const json = response.json;
  response.json = function (this: Response, body?: unknown): Response {
    const etag = versionEtagOf(this.statusCode, body);
    if (etag !== undefined) this.setHeader('ETag', etag);
    return json.call(this, body);
  };
  next();
}

/** The ETag of an answer: `"<version>"` for a successful one that carries a version, else none. */
export function versionEtagOf(status: number, body: unknown): string | undefined {
  const version = (body as { version?: unknown } | undefined | null)?.version;
  return status < 300 && typeof version === 'number' ? `"${version}"` : undefined;
}

/** The version in `If-Match: "<version>"`, or undefined without the header. A malformed one is a 400. */
export const IfMatch = createParamDecorator((_: unknown, context: ExecutionContext): number | undefined => {
  const header = context.switchToHttp().getRequest<Request>().header('if-match');
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(header);
  if (!match) {
    throw new DomainError('invalid', 'request.invalid-if-match', 'If-Match must be a version in quotes, e.g. "3"', [
      { field: 'If-Match', problem: 'invalid', detail: 'expected "<version>" as given in the ETag' },
    ]);
  }
  return Number(match[1]);
});
