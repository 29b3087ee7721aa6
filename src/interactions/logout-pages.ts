// The pages of RP-initiated logout, rendered from views/ in place of
// oidc-provider's defaults: the confirmation (a "Sign out" button posting
// oidc-provider's own xsrf secret back to it) and the signed-out page. In
// the language of the logout request's ui_locales (end_session takes it),
// else the browser's.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { pageCsp } from '../http/security-headers.ts';
import type { Views } from '../http/views.ts';

function localeOf(ctx: KoaContextWithOIDC, views: Views): string {
  return views.localeFor(ctx, ctx.oidc.params?.ui_locales);
}

function clientName(ctx: KoaContextWithOIDC): string | undefined {
  const client = ctx.oidc.client;
  return client ? (client.clientName ?? client.clientId) : undefined;
}

export function createLogoutPages(views: Views) {
  return {
    /** features.rpInitiatedLogout.logoutSource; `_form` is replaced by the view's own escaped form. */
    async logoutSource(ctx: KoaContextWithOIDC, _form: string): Promise<void> {
      const state = (ctx.oidc.session?.state ?? {}) as { secret?: string };
      // This page has no script: the strict policy, not the provider pages' one.
      ctx.set('Content-Security-Policy', pageCsp());
      ctx.type = 'html';
      ctx.body = views.render(
        'logout',
        {
          title: 'logout.title',
          action: ctx.oidc.urlFor('end_session_confirm'),
          xsrf: state.secret ?? '',
          clientName: clientName(ctx),
        },
        localeOf(ctx, views),
      );
    },

    /** features.rpInitiatedLogout.postLogoutSuccessSource */
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      ctx.type = 'html';
      ctx.body = views.render('logged-out', { title: 'loggedOut.title', clientName: clientName(ctx) }, localeOf(ctx, views));
    },
  };
}
