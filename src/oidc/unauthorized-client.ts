// RFC 6749 §5.2: a client that authenticated but is not registered for the
// grant type it used gets `unauthorized_client`. oidc-provider answers
// `invalid_request` for this one case (lib/actions/token.js,
// allowedGrantTypeCheck); this puts the spec's code back on the finished
// response (run by provider.ts finishProviderResponse). It recognises the
// case by oidc-provider's own condition, never by its wording: an
// invalid_request from the token route for a client oidc-provider
// authenticated, whose registration does not allow the (single, string)
// grant_type it asked for. Every other invalid_request the token route
// raises for an authenticated client comes after that check passed, or is
// about a missing or repeated grant_type (not a string here).
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

export function answerUnauthorizedClient(ctx: Context): void {
  if (ctx.status !== 400) return;
  const body = ctx.body as { error?: unknown } | undefined;
  if (body?.error !== 'invalid_request') return;
  const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
  if (oidc?.route !== 'token' || !oidc.client) return;
  const grantType = oidc.params?.grant_type;
  if (typeof grantType !== 'string' || oidc.client.grantTypeAllowed(grantType)) return;
  ctx.body = { ...body, error: 'unauthorized_client' };
}
