// Puts how the person signed in into their JWT access tokens: `acr`, `amr`
// and `auth_time` (RFC 9068 §2.2.1), so a resource server can demand a second
// factor (@latchkey/verify's requireAcr) without asking Latchkey.
//
// The source is what the token endpoint already holds, no database read: at
// the code exchange the authorization code (oidc-provider copied the
// session's acr, amr and auth time into it at /auth), at a refresh the
// refresh token (it was given the code's, and each rotation copies them on),
// so a refreshed token keeps the level of the sign-in it came from, not of
// whatever the browser session reached since. Both sit in ctx.oidc.entities
// by the time the access token is signed. A source that does not belong to
// this token (another grant or account) is ignored, and client-credentials
// tokens have no source: nobody signed in, so they carry none of the three.
import type { AccessToken, ClientCredentials, KoaContextWithOIDC } from 'oidc-provider';

interface SignInRecord {
  readonly grantId?: string | undefined;
  readonly accountId?: string | undefined;
  readonly acr?: string | undefined;
  readonly amr?: string[] | undefined;
  readonly authTime?: number | undefined;
}

/** For oidc-provider's `formats.customizers.jwt`. */
export function addAuthenticationContext(ctx: KoaContextWithOIDC | undefined, token: AccessToken | ClientCredentials, jwt: { payload: Record<string, unknown> }): void {
  if (token.kind !== 'AccessToken') return;
  const { grantId, accountId } = token as AccessToken;
  const entities = ctx?.oidc?.entities;
  const source: SignInRecord | undefined = entities?.AuthorizationCode ?? entities?.RefreshToken;
  if (!source || !grantId || source.grantId !== grantId || source.accountId !== accountId) return;

  if (typeof source.acr === 'string') jwt.payload.acr = source.acr;
  if (Array.isArray(source.amr) && source.amr.length) jwt.payload.amr = [...source.amr];
  if (typeof source.authTime === 'number') jwt.payload.auth_time = source.authTime;
}
