// Which scopes of the admin resource (`<issuer>/admin`) a person may carry:
// what their role allows (accounts/admin-role.ts). admin: every admin scope;
// viewer: the `:read` ones; none (and a disabled or unknown account): none.
// Applied in oidc-provider's resource-server info (resource-indicators.ts)
// for every token issued to a person — at the authorization request, at the
// code's redemption and at every refresh, so a role taken away shows at the
// next refresh — and to the console's standing grant (existing-grant.ts).
// Client-credentials tokens never pass here: a service gets what its client
// was registered for.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { toAdminRole, type AdminRole } from '../accounts/admin-role.ts';

/** The admin resource's scopes, one per area and access. */
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

/** The admin resource's identifier: the issuer (no trailing slash) and /admin. */
export function adminResourceIdentifier(issuer: string): string {
  return `${issuer}/admin`;
}

/** The part of `scopes` a role may have. */
export function scopesForRole(role: AdminRole, scopes: readonly string[]): string[] {
  switch (role) {
    case 'admin':
      return [...scopes];
    case 'viewer':
      return scopes.filter((scope) => scope.endsWith(':read'));
    case 'none':
      return [];
  }
}

export interface RoleLookup {
  findById(id: string): Promise<{ readonly role?: string; readonly disabled: boolean } | undefined | null>;
}

export interface RoleScopesDeps {
  readonly issuer: string;
  readonly accounts: RoleLookup;
}

export function createRoleScopes({ issuer, accounts }: RoleScopesDeps) {
  const identifier = adminResourceIdentifier(issuer);

  return {
    identifier,

    /**
     * The part of `allowed` (the resource's scopes the client may have) that
     * this request's person may get for `resource`: `allowed` itself for
     * any other resource; for the admin resource, what the person's role
     * allows, and nothing while no person is known yet (an authorization
     * request before sign-in; it is asked again once someone has signed in).
     */
    async forPerson(ctx: KoaContextWithOIDC, resource: string, allowed: readonly string[]): Promise<string[]> {
      if (resource !== identifier) return [...allowed];
      const accountId = ctx.oidc.account?.accountId ?? ctx.oidc.session?.accountId;
      if (!accountId) return [];
      const account = await accounts.findById(accountId);
      if (!account || account.disabled) return [];
      return scopesForRole(toAdminRole(account.role), allowed);
    },
  };
}

export type RoleScopes = ReturnType<typeof createRoleScopes>;
