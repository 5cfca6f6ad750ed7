export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;

export type Role = (typeof ROLES)[number];

/** Who made a request: the principal a bearer token belongs to. */
export interface Principal {
  /** 1–64 chars of `[A-Za-z0-9._:-]`; recorded as the `actor` of every event it causes. */
  readonly id: string;
  readonly roles: ReadonlySet<Role>;
}

export const PRINCIPAL_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * Whether `principal` may act in `role`. The one place role implications
 * live: `admin` holds every role, and every principal may view, because an
 * operator has to read what they change and an approver has to read the
 * plan (and its digest) they approve.
 */
export function hasRole(principal: Principal, role: Role): boolean {
  if (principal.roles.has('admin') || principal.roles.has(role)) return true;
  return role === 'viewer' && principal.roles.size > 0;
}
