import type { IncomingHttpHeaders } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../common/domain-error.js';
import { type Principal, type Role, hasRole } from './principal.js';
import { PUBLIC_KEY, ROLES_KEY } from './roles.decorator.js';
import { TokenRegistry } from './token-registry.js';

/** What the guard reads from and adds to a request. */
export interface AuthenticatedRequest {
  headers: IncomingHttpHeaders;
  /** Set by `AuthGuard` on every route that is not `@Public()`. */
  principal?: Principal;
}

// RFC 6750 §2.1: the scheme is case-insensitive, the token is a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Authenticates every request by its bearer token and checks the route's
 * `@Roles`. Registered globally (APP_GUARD by `AuthModule`), so a new route
 * is protected unless it says `@Public()`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenRegistry,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = this.authenticate(request.headers.authorization);
    request.principal = principal;

    const required = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    if (required.length > 0 && !required.some((role) => hasRole(principal, role))) {
      throw new DomainError(
        'forbidden',
        'auth.forbidden',
        `this needs the ${required.join(' or ')} role; ${principal.id} has ${[...principal.roles].join(', ')}`,
      );
    }
    return true;
  }

  private authenticate(header: string | undefined): Principal {
    if (header === undefined || header === '') {
      throw new DomainError(
        'unauthenticated',
        'auth.unauthenticated',
        'this needs a token: Authorization: Bearer <token>',
      );
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw new DomainError(
        'unauthenticated',
        'auth.unauthenticated',
        'the Authorization header must have the form Bearer <token>',
      );
    }
    const principal = this.tokens.authenticate(token);
    if (principal === undefined) {
      throw new DomainError('unauthenticated', 'auth.unauthenticated', 'the bearer token is not valid');
    }
    return principal;
  }
}
