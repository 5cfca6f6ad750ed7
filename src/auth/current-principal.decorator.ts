import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { AuthenticatedRequest } from './auth.guard.js';
import type { Principal } from './principal.js';

/**
 * The authenticated principal of the request, which commands record as
 * their actor (never anything from the body).
 */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  // Only a @Public() route gets here without one: a programming error, not a client's.
  if (principal === undefined) throw new Error('@CurrentPrincipal() used on a route that is not authenticated');
  return principal;
});
