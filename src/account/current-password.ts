// The account page's "current password" check (changing the email or the
// password, deleting the account). It goes through the login guard, as a
// sign-in does: a stolen session guessing the password is throttled exactly
// like the login page (per account and address, per address, per account),
// and one session's page is spent after as many wrong passwords as a login
// page takes (its key is `account:<session uid>`). A plain
// accounts.authenticate would need the same limits re-made beside it.
import type { Context } from 'koa';
import { message, type Message } from '../i18n/message.ts';
import type { DeviceCookies } from '../interactions/device-cookie.ts';
import { BUSY_MESSAGE, tooManyAttemptsMessage } from '../interactions/login-messages.ts';
import type { LoginGuard } from '../throttle/login-guard.ts';
import type { SignedIn } from './account-session.ts';

export type PasswordCheck = { readonly ok: true } | { readonly ok: false; readonly status: number; readonly message: Message; readonly retryAfter?: number };

export interface CurrentPasswordDeps {
  readonly guard: Pick<LoginGuard, 'signIn'>;
  readonly devices: Pick<DeviceCookies, 'read'>;
}

/** How long a spent page's key blocks (throttle-policy.ts, login_interaction). */
const SPENT_RETRY_AFTER = 30 * 60;

export function createCurrentPasswordCheck({ guard, devices }: CurrentPasswordDeps) {
  return async function checkCurrentPassword(ctx: Context, who: SignedIn, password: string): Promise<PasswordCheck> {
    const outcome = await guard.signIn({ email: who.account.email, password, ip: ctx.ip, knownAccounts: devices.read(ctx), interaction: `account:${who.sessionUid}` });
    switch (outcome.kind) {
      case 'signed_in':
        // The email is the signed-in account's, so the account found is too.
        return outcome.account.id === who.account.id ? { ok: true } : { ok: false, status: 400, message: message('account.error.wrongPassword') };
      case 'refused':
        return { ok: false, status: 400, message: message('account.error.wrongPassword') };
      case 'throttled':
        return { ok: false, status: 429, message: tooManyAttemptsMessage(outcome.retryAfter), retryAfter: outcome.retryAfter };
      case 'exhausted':
        return { ok: false, status: 429, message: tooManyAttemptsMessage(SPENT_RETRY_AFTER), retryAfter: SPENT_RETRY_AFTER };
      case 'busy':
        return { ok: false, status: 503, message: BUSY_MESSAGE, retryAfter: 2 };
    }
  };
}

export type CheckCurrentPassword = ReturnType<typeof createCurrentPasswordCheck>;
