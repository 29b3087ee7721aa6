// Links a JWT access token to the grant it was issued from, without storing
// the token. oidc-provider keeps no record of JWT access tokens (issue 6 rules
// out a database write per token), so nothing server-side knows which grant a
// JWT came from. The token itself says so instead: this customizer
// (oidc-provider's formats.customizers.jwt, run as each JWT is signed) copies
// the token's grantId into a `grant_id` claim. Introspection reads it back and
// looks the Grant up (one primary-key read); logout, refresh-token reuse and
// consent withdrawal destroy the Grant, so every JWT issued from it turns
// inactive at once, without the token ever having been written down.
//
// Why this is sound: the claim is inside the signed payload, so it cannot be
// swapped for another grant's id; it names a grant, it does not open one (no
// endpoint accepts a grant id as a credential); and it tells a resource server
// nothing it could not already correlate through `sub` and `client_id`.
// Client-credentials tokens have no grant, and carry no claim.
import type { AccessToken, ClientCredentials, KoaContextWithOIDC } from 'oidc-provider';

export const GRANT_CLAIM = 'grant_id';

/** For oidc-provider's `formats.customizers.jwt`. */
export function addGrantReference(_ctx: KoaContextWithOIDC, token: AccessToken | ClientCredentials, jwt: { payload: Record<string, unknown> }): void {
  const { grantId } = token as { grantId?: unknown };
  if (typeof grantId === 'string' && grantId) jwt.payload[GRANT_CLAIM] = grantId;
}

/** The grant a verified JWT access token names, if it names one. */
export function grantReference(claims: Record<string, unknown>): string | undefined {
  const value = claims[GRANT_CLAIM];
  return typeof value === 'string' && value ? value : undefined;
}
