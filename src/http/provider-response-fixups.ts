// Puts oidc-provider's finished answers right once everything below has
// answered, error pages included (oidc/provider.ts finishProviderResponse:
// 503 while the database is away, RFC 6749's unauthorized_client, cacheable
// discovery and JWKS). Mounted outside error rendering, so a page it renders
// is finished too.
import type { Middleware } from 'koa';
import { finishProviderResponse } from '../oidc/provider.ts';

export function providerResponseFixups(): Middleware {
  return async (ctx, next) => {
    await next();
    finishProviderResponse(ctx);
  };
}
