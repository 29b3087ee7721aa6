// Which authenticated client may introspect or revoke which token. One rule
// set for opaque tokens (oidc-provider's allowedPolicy hooks) and for JWT
// access tokens (our own endpoints' fallback), taken from oidc-provider's
// defaults: a confidential client may introspect any token it presents (a
// resource server checks tokens issued to other clients), a public client only
// its own; only the token's own client may revoke it, and a confidential
// client trying another's token is told so, while a public one is silently
// ignored (RFC 7009 §2.1). For a JWT, introspection reveals little beyond its
// readable claims, so nothing is gained by a stricter rule there.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

export interface Caller {
  readonly clientId: string;
  readonly clientAuthMethod?: string | undefined;
}

export function mayIntrospect(caller: Caller, tokenClientId: string): boolean {
  return caller.clientAuthMethod !== 'none' || caller.clientId === tokenClientId;
}

/** True when the caller may revoke the token; false when the request is to be ignored; throws InvalidRequest otherwise. */
export function mayRevoke(caller: Caller, tokenClientId: string): boolean {
  if (caller.clientId === tokenClientId) return true;
  if (caller.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}

/** oidc-provider's features.introspection.allowedPolicy, with the rule above. */
export const introspectionAllowedPolicy = (_ctx: KoaContextWithOIDC, client: Caller, token: { clientId?: string }) =>
  mayIntrospect(client, token.clientId ?? '');

/** oidc-provider's features.revocation.allowedPolicy, with the rule above. */
export const revocationAllowedPolicy = (_ctx: KoaContextWithOIDC, client: Caller, token: { clientId?: string }) =>
  mayRevoke(client, token.clientId ?? '');
