// GET /email/verify?token=…: the verify link mailed outside a sign-in (an
// invitation, the account page). Same handler as the interaction's
// /interaction/<uid>/verify, without the resume: there is no sign-in to
// finish, so it verifies and says so. The query holds a credential: the
// access log writes paths only (http/access-log.ts).
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { Views } from '../http/views.ts';
import { createFormTokens } from '../interactions/form-token.ts';
import { createInteractionPages } from '../interactions/interaction-page.ts';
import { createEmailVerification } from './email-verification.ts';
import type { SelfServiceDeps } from './self-service-deps.ts';

export interface VerificationRoutesDeps extends SelfServiceDeps {
  readonly provider: Provider;
  readonly views: Views;
  readonly cookieKeys: readonly string[];
}

export function createVerificationRoutes(deps: VerificationRoutesDeps): Middleware {
  const pages = createInteractionPages(deps.provider, deps.views);
  const verification = createEmailVerification({ ...deps, pages, formTokens: createFormTokens(deps.cookieKeys) });
  const router = new Router();
  router.get('/email/verify', (ctx) => verification.follow(ctx, { resume: false }));
  const routes = router.routes() as Middleware;
  // Every other request passes on at once, without the router's matching or a promise of its own.
  return (ctx, next) => (ctx.path === '/email/verify' ? routes(ctx, next) : next());
}
