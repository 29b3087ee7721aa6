// Whether an Admin API caller still stands where its token says. A token is
// checked offline, like at any resource server, and lives its full TTL; but
// the Admin API runs inside Latchkey, so it can also ask the database what no
// resource server can: is the token's client still registered, and for a
// token a person got, is that person's account still there, enabled, and
// allowed this scope by their role? An operator who deletes an automation
// client, or disables or demotes an administrator, ends their access at the
// next request instead of when their last token expires. Admin requests are
// few, so one read each costs nothing anyone sees.
import { toAdminRole } from '../accounts/admin-role.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import { ADMIN_CLIENT_ID } from '../oidc/admin-client.ts';
import { scopesForRole } from '../oidc/role-scopes.ts';
import type { AdminScope } from '../resources/admin-resource.ts';

/** Why a verified token no longer gets through, or 'current'. */
export type CallerStanding = 'current' | 'client_gone' | 'account_gone' | 'account_disabled' | 'role_forbids';

export interface CallerStandingDeps {
  readonly clients: { findProviderMetadata(clientId: string): Promise<unknown> };
  readonly accounts: { findById(id: string): Promise<{ readonly disabled: boolean; readonly role: string } | undefined> };
}

/** Latchkey's own clients (the console's, the account page's): part of the server, never registered, never deleted. */
const BUILT_IN_CLIENTS: ReadonlySet<string> = new Set([ADMIN_CLIENT_ID, ACCOUNT_CLIENT_ID]);

export function createCallerStanding({ clients, accounts }: CallerStandingDeps) {
  return async function standingOf(token: { readonly clientId: string; readonly subject: string }, scope: AdminScope): Promise<CallerStanding> {
    if (!BUILT_IN_CLIENTS.has(token.clientId) && !(await clients.findProviderMetadata(token.clientId))) return 'client_gone';
    // A client-credentials token's subject is its client: a service, bounded by its registration, not by a role.
    if (token.subject === token.clientId) return 'current';
    const account = await accounts.findById(token.subject);
    if (!account) return 'account_gone';
    if (account.disabled) return 'account_disabled';
    return scopesForRole(toAdminRole(account.role), [scope]).length ? 'current' : 'role_forbids';
  };
}

export type StandingOf = ReturnType<typeof createCallerStanding>;
