// RFC 7662 introspection of Latchkey's JWT access tokens: `active: true` with
// the token's claims while it verifies against our keys and is still active
// (see jwt-access-tokens.ts), `active: false` for anything else, exactly as
// oidc-provider answers for opaque tokens. The grant reference is internal
// and stays out of the answer.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { GRANT_CLAIM } from './grant-reference.ts';
import type { JwtAccessTokens } from './jwt-access-tokens.ts';
import type { StructuredTokenHandler } from './structured-token-fallback.ts';
import { mayIntrospect } from './token-access-policy.ts';

export function createJwtIntrospection(tokens: JwtAccessTokens): StructuredTokenHandler {
  return async (ctx: KoaContextWithOIDC) => {
    const token = String(ctx.oidc.params!.token);
    const claims = await tokens.verify(token);
    const active = claims !== undefined && mayIntrospect(ctx.oidc.client!, claims.client_id) && (await tokens.isActive(claims, ctx.oidc.provider));

    ctx.status = 200;
    if (!active) {
      ctx.body = { active: false };
      return;
    }
    const { [GRANT_CLAIM]: _grant, ...visible } = claims;
    ctx.body = { ...visible, active: true, token_type: 'Bearer' };
  };
}
