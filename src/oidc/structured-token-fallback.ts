// oidc-provider refuses every JWT at its introspection and revocation
// endpoints with `unsupported_token_type` (lib/shared/reject_structured_tokens.js),
// because it keeps no record of structured tokens. That refusal comes after
// client authentication, the duplicate-parameter and presence checks, so by
// then the caller is an authenticated client and the request is well-formed.
// This hooks exactly that refusal, through oidc-provider's documented
// extension points (its `<route>.error` event names the error; a
// `provider.use` middleware sees the response afterwards), and replaces it
// with the answer our own handler gives. Every other error, and every
// opaque token, stays oidc-provider's.
import type Koa from 'koa';
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';

export type StructuredTokenRoute = 'introspection' | 'revocation';

/** Writes the response for a JWT presented by ctx.oidc.client; may throw oidc-provider errors. */
export type StructuredTokenHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

export function answerStructuredTokens(provider: Provider, handlers: Partial<Record<StructuredTokenRoute, StructuredTokenHandler>>): void {
  const refused = new WeakSet<object>();
  const noteRefusal = (ctx: KoaContextWithOIDC, error: errors.OIDCProviderError) => {
    if (error instanceof errors.UnsupportedTokenType) refused.add(ctx);
  };
  if (handlers.introspection) provider.on('introspection.error', noteRefusal);
  if (handlers.revocation) provider.on('revocation.error', noteRefusal);

  // Only requests to these endpoints: the rest pass straight through, without an await.
  const paths = new Set((Object.keys(handlers) as StructuredTokenRoute[]).map((route) => provider.pathFor(route)));
  const answer = async (koaCtx: Koa.Context, next: Koa.Next) => {
    await next();
    if (!refused.has(koaCtx)) return;
    refused.delete(koaCtx);
    const ctx = koaCtx as unknown as KoaContextWithOIDC;
    const handler = handlers[ctx.oidc?.route as StructuredTokenRoute];
    if (!handler || !ctx.oidc.client) return;

    // Drops the refusal, and with it the Content-Type of an HTML error page (Accept: text/html).
    ctx.body = undefined;
    try {
      await handler(ctx);
    } catch (error) {
      if (!(error instanceof errors.OIDCProviderError)) throw error;
      ctx.status = error.statusCode;
      ctx.body = { error: error.error, error_description: error.error_description };
    }
  };
  provider.use((koaCtx: Koa.Context, next: Koa.Next) => (paths.has(koaCtx.path) ? answer(koaCtx, next) : next()));
}
