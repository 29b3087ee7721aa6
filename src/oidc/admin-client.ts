// The built-in client the admin console (/admin, src/console/) signs in
// through: a public client (no secret: the console is Latchkey itself, and
// whatever instance answers the callback must be able to redeem the code),
// authorization code with PKCE S256 (required for every code flow:
// provider.ts), its only redirect URI Latchkey's own /admin/callback, and
// the admin resource as its only API. Like the account client
// (account-client.ts) it lives here, not in the Client table: part of
// Latchkey, never listed, changed or deleted through the registry, and
// registered ids are always `lk_…`, so none can take this one. There is no
// consent page for it (existing-grant.ts): which admin scopes a person gets
// is decided by their role (role-scopes.ts), not by a click.
import { ADMIN_SCOPES, adminResourceIdentifier } from './role-scopes.ts';

export const ADMIN_CLIENT_ID = 'latchkey-admin';

/** Where the sign-in comes back to (console/console-routes.ts). */
export const ADMIN_CALLBACK_PATH = '/admin/callback';

/** The client's oidc-provider metadata, for the registry's client source (client-metadata.ts). */
export function adminClientMetadata(issuer: string): Record<string, unknown> {
  return {
    client_id: ADMIN_CLIENT_ID,
    client_name: 'Latchkey admin console',
    application_type: 'web',
    redirect_uris: [`${issuer}${ADMIN_CALLBACK_PATH}`],
    post_logout_redirect_uris: [],
    response_types: ['code'],
    // No refresh tokens: oidc-provider honours offline_access only with
    // prompt=consent, and this client has no consent page. An expired access
    // token sends the browser through the authorization endpoint again,
    // which answers at once while the sign-in session lasts.
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
    resource_scopes: [...ADMIN_SCOPES],
    resources: [adminResourceIdentifier(issuer)],
  };
}
