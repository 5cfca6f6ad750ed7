import { SetMetadata } from '@nestjs/common';
import type { Role } from './principal.js';

export const ROLES_KEY = 'tenant-ledger:roles';
export const PUBLIC_KEY = 'tenant-ledger:public';

/**
 * The route needs at least one of `roles` (see `hasRole`: admin holds every
 * role). On a method it replaces the class's `@Roles`. Routes without it
 * still need a valid token.
 */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);

/** The route answers without a token (/health); it wins over `@Roles`. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);
