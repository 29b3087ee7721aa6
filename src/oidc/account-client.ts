// The built-in client the account page (/account) signs in through: a normal
// authorization request with response_type=none ("no tokens, just
// authenticate", OAuth 2.0 Multiple Response Type Encoding Practices), so the
// login page, its throttles and whatever later guards sign-in are reused and
// the account page never takes a password for signing in itself. It lives
// here, not in the Client table: it is part of Latchkey, not something an
// operator registers, lists or deletes, and registered ids are always
// `lk_…` (client-service.ts), so none can take this one. It cannot get a
// token: no grant types, no code, and its only redirect URI is Latchkey's
// own callback.
export const ACCOUNT_CLIENT_ID = 'latchkey-account';

/** Where the sign-in comes back to (account/account-session.ts). */
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

/** The client's oidc-provider metadata, for the registry's client source (client-metadata.ts). */
export function accountClientMetadata(issuer: string): Record<string, unknown> {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Latchkey',
    application_type: 'web',
    redirect_uris: [`${issuer}${ACCOUNT_CALLBACK_PATH}`],
    post_logout_redirect_uris: [],
    response_types: ['none'],
    grant_types: [],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
    resource_scopes: [],
    resources: [],
  };
}
