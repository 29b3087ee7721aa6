// A person's role in the admin console: what of the Admin API they may reach
// through it. Stored on the account (Account.role); the scopes each role may
// receive for the admin resource are decided in oidc/role-scopes.ts.
import { InvalidInputError } from '../errors.ts';

export const ADMIN_ROLES = ['admin', 'viewer', 'none'] as const;

export type AdminRole = (typeof ADMIN_ROLES)[number];

export function isAdminRole(value: unknown): value is AdminRole {
  return typeof value === 'string' && (ADMIN_ROLES as readonly string[]).includes(value);
}

/** The role named by `value`; anything else is refused (a stored value not known here reads as none: toAdminRole). */
export function parseAdminRole(value: unknown): AdminRole {
  if (!isAdminRole(value)) throw new InvalidInputError(`role must be one of ${ADMIN_ROLES.join(', ')}`);
  return value;
}

/** A stored role as a role: an unknown value grants nothing. */
export function toAdminRole(stored: unknown): AdminRole {
  return isAdminRole(stored) ? stored : 'none';
}
