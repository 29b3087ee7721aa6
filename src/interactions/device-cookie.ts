// Remembers, in a signed cookie, which accounts this browser has signed in to
// (OWASP's "device cookie"). The account-wide back-off (login_account in
// throttle/throttle-policy.ts) does not apply to such a browser: whoever is
// guessing one account from many addresses cannot keep its owner out of a
// browser they have used before, because getting the cookie takes the right
// password. The per-(account, IP) and per-IP limits still apply to it.
//
// The value is the accounts' keyed digests (throttle/throttle-keys.ts), never
// an email, signed with the shared cookie keys (Koa's app.keys), so every
// instance reads what another one set; sent only to the interaction pages.
import type { Context } from 'koa';

export const DEVICE_COOKIE = 'latchkey.device';
/** Accounts one browser is remembered for (newest first); enough for a person's few accounts. */
const MAX_ACCOUNTS = 3;
const MAX_AGE_MS = 180 * 24 * 3600 * 1000;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;

export function createDeviceCookies(options: { secure: boolean }) {
  const read = (ctx: Context): string[] =>
    (ctx.cookies.get(DEVICE_COOKIE, { signed: true }) ?? '').split('.').filter((digest) => DIGEST.test(digest));

  return {
    /** The account digests this browser has signed in to (signature checked). */
    read,

    /** Called after a sign-in: this browser now knows the account. */
    remember(ctx: Context, accountDigest: string): void {
      const accounts = [accountDigest, ...read(ctx).filter((digest) => digest !== accountDigest)].slice(0, MAX_ACCOUNTS);
      ctx.cookies.set(DEVICE_COOKIE, accounts.join('.'), {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        maxAge: MAX_AGE_MS,
        path: '/interaction/',
        overwrite: true,
      });
    },
  };
}

export type DeviceCookies = ReturnType<typeof createDeviceCookies>;
