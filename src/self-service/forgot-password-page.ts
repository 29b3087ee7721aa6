// The "Forgot password?" page of a sign-in (/interaction/:uid/forgot): the
// form asking for an email address, and the one answer every address gets
// ("if an account exists, we sent a link"), whether it has an account, has
// one that is disabled, or has none. Over the mail limits the page says "try
// again later" (429) instead, which depends only on the address and the
// client's IP, never on the account.
import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import type { AuditService } from '../audit/audit-service.ts';
import { message, type Message } from '../i18n/message.ts';
import type { FormTokens } from '../interactions/form-token.ts';
import type { InteractionPages } from '../interactions/interaction-page.ts';
import type { ForgotPassword } from './forgot-password.ts';

export interface ForgotPasswordPageDeps {
  readonly forgot: Pick<ForgotPassword, 'request'>;
  readonly audit: Pick<AuditService, 'record'>;
  readonly pages: Pick<InteractionPages, 'render'>;
  readonly formTokens: FormTokens;
}

/** Far above any address (254), and short enough that the limit's digest is computed over little. */
const EMAIL_FIELD_MAX = 320;

export function createForgotPasswordPage({ forgot, audit, pages, formTokens }: ForgotPasswordPageDeps) {
  function render(ctx: Context, interaction: Interaction, options: { email?: string; error?: Message; status?: number } = {}) {
    pages.render(
      ctx,
      interaction,
      'forgot',
      { title: 'reset.forgot.title', uid: interaction.uid, token: formTokens.issue(interaction.uid), email: options.email ?? '', error: options.error },
      options.status,
    );
  }

  return {
    render: (ctx: Context, interaction: Interaction) => render(ctx, interaction),

    async submit(ctx: Context, interaction: Interaction, form: URLSearchParams): Promise<void> {
      const email = (form.get('email') ?? '').trim().slice(0, EMAIL_FIELD_MAX);
      // Only an empty field is sent back: whether a typed address is well-formed
      // is left to the lookup, so that every address typed gets the same answer.
      if (!email) return render(ctx, interaction, { error: message('reset.forgot.emailRequired'), status: 400 });
      const verdict = await forgot.request({ email, uid: interaction.uid, ip: ctx.ip, ...(ctx.state.requestId && { requestId: ctx.state.requestId }) });
      if (!verdict.allowed) {
        ctx.set('Retry-After', String(verdict.retryAfter));
        audit.record({ type: 'account.limited', ip: ctx.ip, clientId: String(interaction.params.client_id), details: { scope: verdict.scope } });
        pages.render(ctx, interaction, 'notice', { title: 'reset.limited.title', message: 'reset.limited.message' }, 429);
        return;
      }
      pages.render(ctx, interaction, 'notice', {
        title: 'reset.sent.title',
        message: 'reset.sent.message',
        link: { href: `/interaction/${encodeURIComponent(interaction.uid)}/login`, label: 'reset.sent.backToSignIn' },
      });
    },
  };
}

export type ForgotPasswordPage = ReturnType<typeof createForgotPasswordPage>;
