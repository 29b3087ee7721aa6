// A mailed set-your-password link (a reset, or an invitation) and the form it
// leads to: GET checks the link and shows the form, POST sets the password.
// One handler for both purposes and every path the link can come on
// (/interaction/:uid/reset inside a sign-in, /password/reset and
// /password/invite outside one). The link's token is the credential: it is
// used once (AccountTokens.use, a conditional update), and only after the new
// password passes the rules, so a refused password does not spend the link.
//
// CSRF: the form carries the link's token itself, which a cross-site page
// cannot know (256 random bits, only in the mail), so it cannot post a
// password for the victim's account; it could only post its own link, which
// changes its own account and signs no one in. The form also carries a form
// token bound to the link (an HMAC of the token's digest under the cookie
// keys, like every other form's), so no POST is accepted that this server's
// form did not render for that link.
//
// Setting the password ends every session, grant and token of the account
// (AccountService.setPassword), retires its other reset and invitation
// links, and marks the address verified: following the link proved the
// mailbox. In the browser that asked for the link, inside the same sign-in,
// the person is sent back to that sign-in page; anywhere else they are told
// to go back to the app.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { AccountService } from '../accounts/account-service.ts';
import type { AccountTokenPurpose, AccountTokens, TokenRefusal } from '../accounts/account-tokens.ts';
import { checkNewPassword, SIGN_IN_PASSWORD_MAX_LENGTH } from '../accounts/password-policy.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { PasswordRuleError } from '../errors.ts';
import type { PageData } from '../http/views.ts';
import { message, type Message } from '../i18n/message.ts';
import { readForm } from '../interactions/form-body.ts';
import type { FormTokens } from '../interactions/form-token.ts';
import type { InteractionPages } from '../interactions/interaction-page.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { AccountLimits } from '../throttle/account-limits.ts';
import { passwordRuleMessage } from './password-rule-message.ts';

/** The links that lead to this form. */
export type SetPasswordPurpose = Extract<AccountTokenPurpose, 'reset_password' | 'invite'>;

/** Where a link was followed: its purpose, the path its form posts to, and the sign-in it belongs to, if any. */
export interface LinkPlace {
  readonly purpose: SetPasswordPurpose;
  readonly action: string;
  /** The interaction uid in the URL (/interaction/:uid/reset); absent outside a sign-in. */
  readonly uid?: string;
}

export interface PasswordResetDeps {
  readonly accounts: Pick<AccountService, 'setPassword' | 'markEmailVerified'>;
  readonly accountTokens: Pick<AccountTokens, 'peek' | 'use' | 'retire'>;
  readonly limits: Pick<AccountLimits, 'link' | 'linkFailed'>;
  readonly mail: Pick<MailService, 'enqueue'>;
  readonly audit: Pick<AuditService, 'record'>;
  readonly formTokens: FormTokens;
  readonly pages: Pick<InteractionPages, 'tryLoad' | 'renderOutside'>;
}

const COMPLETED_EVENT = { reset_password: 'account.password_reset_completed', invite: 'account.invitation_accepted' } as const;

/** The form token's subject: the link's digest, in a namespace no interaction uid can fall into. */
const linkBinding = (token: string) => `link:${createHash('sha256').update(token, 'utf8').digest('base64url')}`;

export function createPasswordReset({ accounts, accountTokens, limits, mail, audit, formTokens, pages }: PasswordResetDeps) {
  function renderForm(ctx: Context, place: LinkPlace, token: string, email: string, error?: Message, status = 200) {
    const invite = place.purpose === 'invite';
    pages.renderOutside(
      ctx,
      'reset',
      {
        title: invite ? 'reset.form.inviteTitle' : 'reset.form.title',
        heading: invite ? 'reset.form.inviteHeading' : 'reset.form.heading',
        action: place.action,
        token,
        csrf: formTokens.issue(linkBinding(token)),
        email,
        error,
      },
      status,
    );
  }

  function renderRefused(ctx: Context, place: LinkPlace, reason: TokenRefusal) {
    const again: PageData['link'] =
      place.purpose === 'reset_password' && place.uid ? { href: `/interaction/${encodeURIComponent(place.uid)}/forgot`, label: 'reset.refused.askAgain' } : undefined;
    pages.renderOutside(
      ctx,
      'notice',
      {
        title: `reset.refused.${reason}.title`,
        message: `reset.refused.${reason}.message`,
        detail: place.purpose === 'invite' ? 'reset.refused.inviteDetail' : place.uid ? undefined : 'reset.refused.resetDetail',
        link: again,
      },
      400,
    );
  }

  /** The link limit (failed links per address); renders the 429 page and returns false when over it. */
  async function linkAllowed(ctx: Context): Promise<boolean> {
    const verdict = await limits.link(ctx.ip);
    if (verdict.allowed) return true;
    ctx.set('Retry-After', String(verdict.retryAfter));
    audit.record({ type: 'account.limited', ip: ctx.ip, details: { scope: verdict.scope } });
    pages.renderOutside(ctx, 'notice', { title: 'reset.limited.title', message: 'reset.limited.message' }, 429);
    return false;
  }

  async function refuse(ctx: Context, place: LinkPlace, reason: TokenRefusal) {
    await limits.linkFailed(ctx.ip);
    renderRefused(ctx, place, reason);
  }

  return {
    async show(ctx: Context, place: LinkPlace): Promise<void> {
      if (!(await linkAllowed(ctx))) return;
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const peeked = await accountTokens.peek(place.purpose, token);
      if (!peeked.ok) return refuse(ctx, place, peeked.reason);
      renderForm(ctx, place, token, peeked.token.email);
    },

    async submit(ctx: Context, place: LinkPlace): Promise<void> {
      const form = await readForm(ctx);
      if (!(await linkAllowed(ctx))) return;
      const token = form.get('token') ?? '';
      if (!formTokens.verify(linkBinding(token), form.get('csrf'))) {
        pages.renderOutside(ctx, 'error', { title: 'reset.forged.title', message: message('reset.forged.message'), code: 'invalid_form_token' }, 403);
        return;
      }
      const peeked = await accountTokens.peek(place.purpose, token);
      if (!peeked.ok) return refuse(ctx, place, peeked.reason);

      const password = form.get('password') ?? '';
      try {
        // Bounded before NFKC, as at sign-in: a megabyte of text is refused unread.
        checkNewPassword(password.length > SIGN_IN_PASSWORD_MAX_LENGTH ? password.slice(0, SIGN_IN_PASSWORD_MAX_LENGTH) : password);
      } catch (error) {
        if (!(error instanceof PasswordRuleError)) throw error;
        return renderForm(ctx, place, token, peeked.token.email, passwordRuleMessage(error.rule), 400);
      }

      // Single use: of parallel posts of one link, exactly one gets past here.
      const used = await accountTokens.use(place.purpose, token);
      if (!used.ok) return refuse(ctx, place, used.reason);
      const { accountId, email, interactionUid } = used.token;
      const account = await accounts.setPassword(accountId, password);
      await accountTokens.retire(accountId, ['reset_password', 'invite']);
      await accounts.markEmailVerified(accountId, email);
      await mail.enqueue({ to: account.email, template: 'password-changed', data: { name: account.name, email: account.email } });
      audit.record({ type: COMPLETED_EVENT[place.purpose], actor: accountId, subject: accountId, ip: ctx.ip, ...(ctx.state.requestId && { requestId: ctx.state.requestId }) });
      ctx.state.log?.info({ accountId, purpose: place.purpose }, 'password set through a mailed link');

      // Back to the sign-in only in the browser (and the sign-in) that asked for the link.
      if (place.uid && place.uid === interactionUid && (await pages.tryLoad(ctx))) {
        ctx.status = 303;
        ctx.redirect(`/interaction/${encodeURIComponent(place.uid)}/login?reset=done`);
        return;
      }
      pages.renderOutside(ctx, 'notice', {
        title: place.purpose === 'invite' ? 'reset.done.inviteTitle' : 'reset.done.title',
        message: 'reset.done.message',
      });
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
