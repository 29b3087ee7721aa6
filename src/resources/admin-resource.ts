// The admin resource: the API Latchkey protects for its own administration
// (the Admin API under /admin/v1), its identifier and the nine scopes its
// routes demand. A resource like any other, except that it cannot be deleted.
export const ADMIN_SCOPES = [
  'clients:read',
  'clients:write',
  'resources:read',
  'resources:write',
  'users:read',
  'users:write',
  'keys:read',
  'keys:write',
  'audit:read',
] as const;

export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** `<issuer>/admin`: the `aud` of every token the Admin API accepts (the issuer has no trailing slash). */
export function adminResourceIdentifier(issuer: string): string {
  return `${issuer}/admin`;
}
