import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error.js';
import { type AuthenticatedRequest, AuthGuard } from './auth.guard.js';
import { Public, Roles } from './roles.decorator.js';
import { TokenRegistry, hashToken } from './token-registry.js';

const registry = TokenRegistry.fromEntries([
  { principal: 'admin', roles: ['admin'], tokenSha256: hashToken('tl_admin') },
  { principal: 'olga', roles: ['operator'], tokenSha256: hashToken('tl_olga') },
  { principal: 'vic', roles: ['viewer'], tokenSha256: hashToken('tl_vic') },
]);
const guard = new AuthGuard(new Reflector(), registry);

@Roles('viewer')
class FakeController {
  read(): void {}
  @Roles('operator')
  change(): void {}
  @Roles('approver', 'operator')
  either(): void {}
  @Public()
  health(): void {}
}

@Roles('operator')
class PublicController {
  @Public()
  health(): void {}
}

class PlainController {
  anything(): void {}
}

function contextFor(
  controller: new () => object,
  handler: string,
  authorization?: string,
): { context: ExecutionContext; request: AuthenticatedRequest } {
  const request: AuthenticatedRequest = { headers: authorization === undefined ? {} : { authorization } };
  const context = {
    getType: () => 'http',
    getClass: () => controller,
    getHandler: () => (controller.prototype as Record<string, unknown>)[handler],
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { context, request };
}

function refusal(controller: new () => object, handler: string, authorization?: string): DomainError {
  try {
    guard.canActivate(contextFor(controller, handler, authorization).context);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the guard to refuse');
}

describe('AuthGuard', () => {
  it('attaches the principal of a valid token', () => {
    const { context, request } = contextFor(FakeController, 'read', 'Bearer tl_vic');
    expect(guard.canActivate(context)).toBe(true);
    expect(request.principal?.id).toBe('vic');
  });

  it('accepts the scheme in any case', () => {
    expect(guard.canActivate(contextFor(FakeController, 'read', 'bearer tl_vic').context)).toBe(true);
  });

  it.each([
    ['no header', undefined, 'this needs a token'],
    ['an empty header', '', 'this needs a token'],
    ['another scheme', 'Basic dmljOnZpYw==', 'must have the form Bearer <token>'],
    ['a bare scheme', 'Bearer ', 'must have the form Bearer <token>'],
    ['a token with spaces', 'Bearer tl_vic extra', 'must have the form Bearer <token>'],
    ['an unknown token', 'Bearer tl_mallory', 'the bearer token is not valid'],
  ])('refuses %s as unauthenticated', (_case, header, detail) => {
    const error = refusal(PlainController, 'anything', header);
    expect(error.kind).toBe('unauthenticated');
    expect(error.code).toBe('auth.unauthenticated');
    expect(error.message).toContain(detail);
  });

  it('refuses a principal without the role, naming what is needed and held', () => {
    const error = refusal(FakeController, 'change', 'Bearer tl_vic');
    expect(error.kind).toBe('forbidden');
    expect(error.code).toBe('auth.forbidden');
    expect(error.message).toBe('this needs the operator role; vic has viewer');
  });

  it('lets a method override the class roles', () => {
    expect(guard.canActivate(contextFor(FakeController, 'change', 'Bearer tl_olga').context)).toBe(true);
  });

  it('needs only one of several roles', () => {
    expect(guard.canActivate(contextFor(FakeController, 'either', 'Bearer tl_olga').context)).toBe(true);
    expect(refusal(FakeController, 'either', 'Bearer tl_vic').message).toBe(
      'this needs the approver or operator role; vic has viewer',
    );
  });

  it('lets admin through everywhere', () => {
    expect(guard.canActivate(contextFor(FakeController, 'change', 'Bearer tl_admin').context)).toBe(true);
    expect(guard.canActivate(contextFor(FakeController, 'either', 'Bearer tl_admin').context)).toBe(true);
  });

  it('asks only for a valid token on routes without @Roles', () => {
    expect(guard.canActivate(contextFor(PlainController, 'anything', 'Bearer tl_vic').context)).toBe(true);
    expect(refusal(PlainController, 'anything').kind).toBe('unauthenticated');
  });

  it('lets anyone reach @Public() routes, even under a class @Roles', () => {
    const { context, request } = contextFor(PublicController, 'health');
    expect(guard.canActivate(context)).toBe(true);
    expect(request.principal).toBeUndefined();
    expect(guard.canActivate(contextFor(FakeController, 'health').context)).toBe(true);
  });
});
