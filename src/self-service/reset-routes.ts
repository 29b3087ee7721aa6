// The set-your-password links that belong to no sign-in: /password/reset
// (a reset link asked for outside an interaction) and /password/invite (the
// invitation `latchkey user invite` mails). Both are password-reset.ts's
// handler with their own purpose; a link's token is only ever taken for the
// purpose it was issued for. With LATCHKEY_PASSWORD_RESET off, /password/reset
// is a readable 404 page; an invitation is the operator's, so it stays.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { SelfServiceConfig } from '../config/config.ts';
import type { Views } from '../http/views.ts';
import { message } from '../i18n/message.ts';
import { createFormTokens } from '../interactions/form-token.ts';
import { createInteractionPages } from '../interactions/interaction-page.ts';
import { createPasswordReset, type LinkPlace, type PasswordResetDeps } from './password-reset.ts';

export interface ResetRoutesDeps extends Omit<PasswordResetDeps, 'formTokens' | 'pages'> {
  readonly provider: Provider;
  readonly views: Views;
  readonly cookieKeys: readonly string[];
  readonly selfService: Pick<SelfServiceConfig, 'passwordReset'>;
}

export function createResetRoutes({ provider, views, cookieKeys, selfService, ...deps }: ResetRoutesDeps): Middleware {
  const pages = createInteractionPages(provider, views);
  const reset = createPasswordReset({ ...deps, pages, formTokens: createFormTokens(cookieKeys) });
  const router = new Router({ prefix: '/password' });
  const mount = (path: string, place: LinkPlace) => {
    router.get(path, (ctx) => reset.show(ctx, place));
    router.post(path, (ctx) => reset.submit(ctx, place));
  };
  if (selfService.passwordReset) mount('/reset', { purpose: 'reset_password', action: '/password/reset' });
  mount('/invite', { purpose: 'invite', action: '/password/invite' });

  const routes = router.routes() as Middleware;
  return (ctx, next) => {
    if (ctx.path !== '/password' && !ctx.path.startsWith('/password/')) return next();
    return routes(ctx, async () => {
      pages.renderProblem(ctx, undefined, 404, { title: 'error.notFound.title', message: message('error.notFound.message'), code: 'not_found' });
    });
  };
}
