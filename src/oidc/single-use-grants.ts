// Single use at the token endpoint, decided by the database. The adapter's
// consume is a conditional update whose row count decides
// (artifact-repository.ts); when the code or refresh token was consumed
// already, by an earlier request or by a parallel one a moment ago, it
// throws ArtifactConsumedError, and these wrappers of oidc-provider's own
// handlers answer it (oidc-provider's own check of `consumed` runs several
// awaits before the consume, so parallel requests all passed it):
//
// - an authorization code used twice: the grant is revoked (RFC 6749
//   §4.1.2: the tokens issued from it), invalid_grant;
// - a refresh token retried inside the reuse grace whose successor is still
//   unused: that successor is refreshed without rotating it, so the client
//   gets a fresh access token and the same successor (refresh-retries.ts);
// - a refresh token inside the grace whose first request has not finished
//   (a parallel loser): invalid_grant, the grant kept, so the chain stays
//   the winner's one live token;
// - any other reuse of a refresh token: the grant is revoked, invalid_grant,
//   as oidc-provider itself would.
//
// Every invalid_grant for a reuse is a GrantReuseDetected, which the audit
// hook (provider-audit.ts) records by its class.
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { ArtifactConsumedError } from '../errors.ts';
import { GrantReuseDetected } from './grant-reuse-detected.ts';
import { builtInGrant, revokeGrant, type GrantHandler } from './provider-internals.ts';
import { redeeming } from './redemption-scope.ts';
import type { RefreshRetries } from './refresh-retries.ts';

export interface SingleUseGrantsDeps {
  readonly retries: RefreshRetries;
}

export function redeemGrantsOnce(provider: Provider, { retries }: SingleUseGrantsDeps): void {
  replace(provider, 'authorization_code', (builtIn) => async (ctx) => {
    try {
      await builtIn(ctx);
    } catch (error) {
      if (!(error instanceof ArtifactConsumedError)) throw error;
      const grantId = error.row?.grantId ?? undefined;
      if (grantId) await revokeGrant(ctx, grantId);
      throw new GrantReuseDetected({ type: 'authorization_code.reuse_detected', grantId, accountId: undefined });
    }
  });

  replace(provider, 'refresh_token', (builtIn) => async (ctx) => {
    const presented = String(ctx.oidc.params!.refresh_token);
    try {
      await builtIn(ctx);
    } catch (error) {
      if (!(error instanceof ArtifactConsumedError)) throw error;
      const decision = await retries.decide(presented, error);
      if (decision.successor === undefined) return answerRefreshReuse(ctx, error, decision.revoke);
      // A retry: the refresh the client lost the answer to, done again on its successor, which stays the chain's one live token.
      retries.answerWithoutRotating(ctx);
      ctx.oidc.params!.refresh_token = decision.successor;
      await builtIn(ctx);
    }
  });
}

/** A consumed refresh token not answered again: invalid_grant, with the grant revoked (as oidc-provider's own reuse check does) when `revoke`. */
async function answerRefreshReuse(ctx: KoaContextWithOIDC, consumed: ArtifactConsumedError, revoke: boolean): Promise<never> {
  const token = ctx.oidc.entities.RefreshToken;
  const grantId = consumed.row?.grantId ?? token?.grantId;
  if (revoke) await Promise.all([token?.destroy(), grantId ? revokeGrant(ctx, grantId) : undefined]);
  throw new GrantReuseDetected({ type: 'refresh_token.reuse_detected', grantId, accountId: token?.accountId });
}

/**
 * Registers `wrap(builtIn)` as the handler of a built-in grant, with the
 * parameters it had; the built-in runs as a redemption (redemption-scope.ts),
 * so the adapter hands it codes and refresh tokens without `consumed`.
 */
function replace(provider: Provider, grantType: 'authorization_code' | 'refresh_token', wrap: (builtIn: GrantHandler) => GrantHandler): void {
  const { handler, parameters, duplicates } = builtInGrant(provider, grantType);
  const redeem: GrantHandler = (ctx) => redeeming(ctx, () => handler(ctx));
  provider.registerGrantType(grantType, wrap(redeem), [...parameters], duplicates);
}
