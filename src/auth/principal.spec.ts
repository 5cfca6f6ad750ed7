import { describe, expect, it } from 'vitest';
import { type Principal, ROLES, type Role, hasRole, isRole } from './principal.js';

const principal = (...roles: Role[]): Principal => ({ id: 'p', roles: new Set(roles) });

describe('hasRole', () => {
  it('gives admin every role', () => {
    for (const role of ROLES) expect(hasRole(principal('admin'), role)).toBe(true);
  });

  it('lets every principal view', () => {
    expect(hasRole(principal('operator'), 'viewer')).toBe(true);
    expect(hasRole(principal('approver'), 'viewer')).toBe(true);
  });

  it('gives no other role by implication', () => {
    expect(hasRole(principal('operator'), 'approver')).toBe(false);
    expect(hasRole(principal('approver'), 'operator')).toBe(false);
    expect(hasRole(principal('viewer'), 'operator')).toBe(false);
    expect(hasRole(principal('operator', 'approver'), 'admin')).toBe(false);
    expect(hasRole(principal(), 'viewer')).toBe(false);
  });
});

describe('isRole', () => {
  it('knows exactly the four roles', () => {
    expect(ROLES.filter(isRole)).toEqual(['viewer', 'operator', 'approver', 'admin']);
    expect(['Admin', 'root', '', 1, null].some(isRole)).toBe(false);
  });
});
