// RFC 9449 §5/§7.1: a token request whose DPoP proof is missing or invalid is
// answered `invalid_dpop_proof`. oidc-provider answers `invalid_grant` when a
// client registered with dpop_bound_access_tokens (--require-dpop) sends no
// proof at all (helpers/sender_constraints.js checkDpopRequired); this puts
// the spec's code back on the finished response (run by provider.ts
// finishProviderResponse). It recognises the case by state, never by
// wording: an invalid_grant from the token route, for a client oidc-provider
// authenticated that must use DPoP, on a request without a DPoP header. Such
// a request can never succeed, whatever else is wrong with it, so the
// missing proof is the error to name.
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

export function answerDpopProofRequired(ctx: Context): void {
  if (ctx.status !== 400) return;
  const body = ctx.body as { error?: unknown } | undefined;
  if (body?.error !== 'invalid_grant') return;
  const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
  if (oidc?.route !== 'token' || !oidc.client?.dpopBoundAccessTokens || ctx.get('DPoP')) return;
  ctx.body = { error: 'invalid_dpop_proof', error_description: 'this client must send a DPoP proof with every token request' };
}
