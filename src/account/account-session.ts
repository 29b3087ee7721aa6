// Who is signed in on the account page, and how a browser that is not gets
// signed in. The page rides on oidc-provider's own SSO session (the cookie
// the login page sets; Session.get reads it on the host's Koa context, whose
// cookie keys are the provider's: app.ts). A browser without one is sent
// through a normal authorization request of the built-in account client
// (oidc/account-client.ts, response_type=none), so it signs in on the login
// page with its throttles; the page itself never takes a password to sign
// anyone in. The request's `state` is kept in a short-lived cookie and
// checked when the browser comes back to /account/callback.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { AccountService, AccountView } from '../accounts/account-service.ts';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';

export const ACCOUNT_STATE_COOKIE = 'latchkey.account_state';
/** Long enough to sign in, short enough not to linger. Matches the default interaction lifetime. */
const STATE_TTL_MS = 10 * 60 * 1000;

export interface SignedIn {
  readonly account: AccountView;
  /** False for an account made by a federated sign-in that has set no password yet: the page offers a mailed link instead. */
  readonly hasPassword: boolean;
  /** The session's uid: what form tokens are bound to and what "this browser" is. */
  readonly sessionUid: string;
  /** Ends this browser's session (after the account is deleted). */
  end(): Promise<void>;
}

export interface AccountSessionDeps {
  readonly provider: Provider;
  readonly accounts: Pick<AccountService, 'findById' | 'hasPassword'>;
  readonly issuer: string;
}

export function createAccountSession({ provider, accounts, issuer }: AccountSessionDeps) {
  const secure = issuer.startsWith('https:');
  const cookie = { httpOnly: true, sameSite: 'lax', secure, signed: true, path: '/account', overwrite: true } as const;

  return {
    /** The account signed in on this browser, if one is, and it is still there and enabled. */
    async current(ctx: Context): Promise<SignedIn | undefined> {
      const session = await provider.Session.get(ctx);
      if (!session.accountId) return undefined;
      const account = await accounts.findById(session.accountId);
      if (!account || account.disabled) return undefined;
      return { account, hasPassword: await accounts.hasPassword(account.id), sessionUid: session.uid, end: () => session.destroy() };
    },

    /** Sends the browser to sign in through the built-in client; it comes back to /account/callback. */
    startSignIn(ctx: Context): void {
      const state = randomBytes(32).toString('base64url');
      ctx.cookies.set(ACCOUNT_STATE_COOKIE, state, { ...cookie, maxAge: STATE_TTL_MS });
      const url = new URL(provider.pathFor('authorization'), issuer);
      url.search = new URLSearchParams({
        client_id: ACCOUNT_CLIENT_ID,
        response_type: 'none',
        scope: 'openid',
        redirect_uri: `${issuer}${ACCOUNT_CALLBACK_PATH}`,
        state,
      }).toString();
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(url.href);
    },

    /**
     * Whether the callback's `state` is the one this browser was sent off
     * with. The cookie is spent either way: a callback works once.
     */
    acceptCallback(ctx: Context): boolean {
      const expected = ctx.cookies.get(ACCOUNT_STATE_COOKIE, { signed: true });
      ctx.cookies.set(ACCOUNT_STATE_COOKIE, null, cookie);
      const presented = ctx.query.state;
      if (!expected || typeof presented !== 'string') return false;
      const a = Buffer.from(expected);
      const b = Buffer.from(presented);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}

export type AccountSession = ReturnType<typeof createAccountSession>;
