// RFC 6749 §5.2: a client that authenticated but is not registered for the
// grant type it used gets `unauthorized_client`. oidc-provider answers
// `invalid_request` for this one case; this puts the spec's code back on the
// finished response (run by provider.ts finishProviderResponse). It matches the
// library's exact description, and test/integration/client-credentials.test.ts
// fails if an upgrade changes it.
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';

export function answerUnauthorizedClient(ctx: Context): void {
  const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (oidc?.route === 'token' && ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === GRANT_NOT_ALLOWED) {
    ctx.body = { error: 'unauthorized_client', error_description: GRANT_NOT_ALLOWED };
  }
}
