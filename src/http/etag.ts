import {
  type CallHandler,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';
import { DomainError } from '../common/domain-error.js';

/** Sets `ETag: "<version>"` on every answer that carries a `version` (site state). */
@Injectable()
export class VersionEtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((body: unknown) => {
        const version = (body as { version?: unknown } | undefined)?.version;
        if (typeof version === 'number') response.setHeader('ETag', `"${version}"`);
        return body;
      }),
    );
  }
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
