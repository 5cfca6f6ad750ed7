import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response, NextFunction } from 'express';
import type { Principal } from '../auth/principal.js';
import type { RequestContext } from '../ledger/request-context.js';

const CORRELATION_HEADER = 'x-correlation-id';
/** What a correlation id looks like (a caller's X-Correlation-Id outside it is replaced). */
export const CORRELATION_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request a correlation id: the caller's `X-Correlation-Id` when
 * well-formed (so one incident ticket can follow a script's calls), else a
 * new UUID. Echoed in the response and recorded on every event it causes.
 */
export function correlationId(request: Request, response: Response, next: NextFunction): void {
  const given = request.header(CORRELATION_HEADER);
  const id = given && CORRELATION_PATTERN.test(given) ? given : randomUUID();
  (request as Request & { correlationId: string }).correlationId = id;
  response.setHeader('X-Correlation-Id', id);
  next();
}

/** The authenticated principal and correlation of this request (reason is added per command). */
export const RequestCtx = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext => {
  const request = context.switchToHttp().getRequest<Request & { principal: Principal; correlationId: string }>();
  return { principal: request.principal, correlationId: request.correlationId, causationId: null };
});
