// Changing an account's email from the account page, in two steps. Asking
// (signed in, current password already checked): a single-use link
// (change_email, 24 h) is mailed to the new address; the account keeps its
// old address until the link is opened. Whether the new address belongs to
// another account is not told: the page says "we sent a link" either way,
// and a taken address gets no mail at all (its owner did not ask for
// anything, and a mail would tell them someone tried). Opening the link (in
// any browser, signed in or not): the account moves to the new address,
// verified, if it is still free (the unique index decides), the old address
// is told, and links mailed to the old address (verification, reset) stop
// working.
import type { Context } from 'koa';
import type { AccountService } from '../accounts/account-service.ts';
import { normaliseEmail } from '../accounts/account-validation.ts';
import type { AccountTokens } from '../accounts/account-tokens.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { InvalidInputError } from '../errors.ts';
import { message, type Message } from '../i18n/message.ts';
import type { MailService } from '../mail/mail-service.ts';
import type { AccountLimits } from '../throttle/account-limits.ts';
import type { SignedIn } from './account-session.ts';

export type Refusal = { readonly ok: false; readonly status: number; readonly message: Message; readonly retryAfter?: number };

export interface EmailChangeDeps {
  readonly accounts: Pick<AccountService, 'findByEmail' | 'changeEmail'>;
  readonly accountTokens: Pick<AccountTokens, 'issue' | 'use' | 'retire'>;
  readonly limits: Pick<AccountLimits, 'mail' | 'link' | 'linkFailed'>;
  readonly mail: Pick<MailService, 'enqueue'>;
  readonly audit: Pick<AuditService, 'record'>;
  readonly issuer: string;
}

export const CONFIRM_EMAIL_PATH = '/account/email/confirm';

export function createEmailChange({ accounts, accountTokens, limits, mail, audit, issuer }: EmailChangeDeps) {
  return {
    async request(ctx: Context, who: SignedIn, raw: string): Promise<{ readonly ok: true } | Refusal> {
      let email: string;
      try {
        email = normaliseEmail(raw);
      } catch (error) {
        if (error instanceof InvalidInputError) return { ok: false, status: 400, message: message('account.error.email') };
        throw error;
      }
      if (email === who.account.email) return { ok: false, status: 400, message: message('account.error.sameEmail') };
      const limit = await limits.mail(ctx.ip, email);
      if (!limit.allowed) {
        audit.record({ type: 'account.limited', actor: who.account.id, subject: who.account.id, ip: ctx.ip, details: { scope: limit.scope, action: 'change_email' } });
        return { ok: false, status: 429, message: message('account.error.tooManyRequests'), retryAfter: limit.retryAfter };
      }
      if (!(await accounts.findByEmail(email))) {
        const token = await accountTokens.issue({ purpose: 'change_email', accountId: who.account.id, email });
        const link = `${issuer}${CONFIRM_EMAIL_PATH}?token=${encodeURIComponent(token)}`;
        await mail.enqueue({ to: email, template: 'change-email', data: { name: who.account.name, email, link } });
      }
      audit.record({ type: 'account.email_change_requested', actor: who.account.id, subject: who.account.id, ip: ctx.ip });
      return { ok: true };
    },

    /** Uses the mailed link; resolves to the address now in effect, or why not. */
    async confirm(ctx: Context, token: unknown): Promise<{ readonly ok: true; readonly email: string } | Refusal> {
      const limit = await limits.link(ctx.ip);
      if (!limit.allowed) return { ok: false, status: 429, message: message('account.link.tooMany'), retryAfter: limit.retryAfter };
      const used = await accountTokens.use('change_email', token);
      if (!used.ok) {
        await limits.linkFailed(ctx.ip);
        return { ok: false, status: 400, message: message('account.link.invalid') };
      }
      const { accountId, email } = used.token;
      const change = await accounts.changeEmail(accountId, email);
      if (!change.ok) {
        return change.reason === 'taken' ? { ok: false, status: 409, message: message('account.link.taken') } : { ok: false, status: 400, message: message('account.link.invalid') };
      }
      // Links mailed to the old address prove nothing about the account any more.
      await accountTokens.retire(accountId, ['verify_email', 'reset_password']);
      await mail.enqueue({ to: change.oldEmail, template: 'email-changed', data: { name: change.account.name, oldEmail: change.oldEmail, newEmail: email } });
      audit.record({ type: 'account.email_changed', actor: accountId, subject: accountId, ip: ctx.ip });
      return { ok: true, email };
    },
  };
}

export type EmailChange = ReturnType<typeof createEmailChange>;
