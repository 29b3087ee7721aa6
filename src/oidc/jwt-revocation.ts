// RFC 7009 revocation of Latchkey's JWT access tokens: the token's `jti` goes
// on the revocation list until the token would have expired, after which it
// cannot be used anyway. As RFC 7009 §2.2 asks, a token that is not ours, not
// valid or already expired is answered 200 and ignored.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { JwtAccessTokens } from './jwt-access-tokens.ts';
import type { RevokedAccessTokens } from './revoked-access-tokens.ts';
import type { StructuredTokenHandler } from './structured-token-fallback.ts';
import { mayRevoke } from './token-access-policy.ts';

export function createJwtRevocation(tokens: JwtAccessTokens, revoked: RevokedAccessTokens): StructuredTokenHandler {
  return async (ctx: KoaContextWithOIDC) => {
    const claims = await tokens.verify(String(ctx.oidc.params!.token));
    if (claims && mayRevoke(ctx.oidc.client!, claims.client_id)) {
      await revoked.revoke({ jti: claims.jti, exp: claims.exp, clientId: claims.client_id });
    }
    ctx.status = 200;
    ctx.body = '';
  };
}
