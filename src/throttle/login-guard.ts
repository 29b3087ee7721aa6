// Password sign-in behind brute-force protection and a bound on concurrent
// password checks. An attempt is counted under four keys (throttle-keys.ts):
// the (account, IP) pair, the IP, the account, and the login page
// (interaction) it was posted on. A blocked attempt is refused before the
// password is looked at, so it costs no argon2 time; the keys do not depend
// on whether the account exists, so being throttled says nothing about that
// either. The exact rule, as the README states it:
//
//   An attempt is refused while any of its keys is blocked; the account key
//   is not consulted for a browser that has signed in to that account before
//   (interactions/device-cookie.ts). Every refused password (unknown email, wrong password,
//   disabled account) counts against all four keys. The right password
//   clears the (account, IP) count only. A login page blocked by its own
//   count is spent: the person starts again.
//
// So the owner is never kept out longer than the account key's cap (5 min)
// from a new browser, and not at all by it from a browser they have used.
// Nor can the account key hold the owner off the password checks: attempts
// it blocks never wait for one, and the waiting line is shared by source
// (client address), not by account (concurrency-limit.ts), so strangers
// flooding an account from many networks cannot take the owner's turn.
import type { AccountService, AccountView } from '../accounts/account-service.ts';
import type { ConcurrencyLimit } from './concurrency-limit.ts';
import { throttledAddress, type ThrottleKeys } from './throttle-keys.ts';
import type { ThrottleScope } from './throttle-policy.ts';
import type { ThrottleService, ThrottleVerdict } from './throttle-service.ts';

export interface LoginAttempt {
  readonly email: string;
  readonly password: string;
  /** The client's address (ctx.ip: the socket's, or X-Forwarded-For's only behind a trusted proxy). */
  readonly ip: string;
  /** Account digests from this browser's device cookie. */
  readonly knownAccounts: readonly string[];
  /** The uid of the interaction (login page) the attempt was posted on. */
  readonly interaction: string;
}

export type LoginOutcome =
  | { readonly kind: 'signed_in'; readonly account: AccountView; readonly accountDigest: string }
  /** Wrong email, wrong password or disabled account: one answer for all three. */
  | { readonly kind: 'refused' }
  | { readonly kind: 'throttled'; readonly retryAfter: number; readonly scope: ThrottleScope }
  /** This login page has had its share of wrong passwords; nothing was checked. */
  | { readonly kind: 'exhausted' }
  /** Too many password checks running and waiting; nothing was checked or counted. */
  | { readonly kind: 'busy' };

export interface LoginGuardDeps {
  readonly accounts: Pick<AccountService, 'authenticate'>;
  readonly throttle: Pick<ThrottleService, 'check' | 'fail' | 'succeed'>;
  readonly keys: Pick<ThrottleKeys, 'login'>;
  /** Bounds concurrent password checks (config passwordHashing). */
  readonly hashing: Pick<ConcurrencyLimit, 'run'>;
}

export function createLoginGuard({ accounts, throttle, keys, hashing }: LoginGuardDeps) {
  return {
    async signIn(attempt: LoginAttempt): Promise<LoginOutcome> {
      const login = keys.login(attempt.email, attempt.ip, attempt.interaction);
      const counted = [login.interaction, login.accountIp, login.ip, login.account];
      const checked = attempt.knownAccounts.includes(login.accountDigest) ? [login.interaction, login.accountIp, login.ip] : counted;
      const refusal = (verdict: ThrottleVerdict): LoginOutcome =>
        verdict.blocked.includes('login_interaction') ? { kind: 'exhausted' } : { kind: 'throttled', retryAfter: verdict.retryAfter, scope: verdict.blockedBy! };

      const before = await throttle.check(checked);
      if (!before.allowed) return refusal(before);

      const admission = await hashing.run(throttledAddress(attempt.ip), async (): Promise<LoginOutcome> => {
        // Checked again once it is this attempt's turn, and a failure counted
        // before the turn passes on: attempts sent all at once all pass the
        // first check, but none can outrun the count.
        const verdict = await throttle.check(checked);
        if (!verdict.allowed) return refusal(verdict);
        const account = await accounts.authenticate(attempt.email, attempt.password);
        if (!account) {
          await throttle.fail(counted);
          return { kind: 'refused' };
        }
        if (verdict.counted.length > 0) await throttle.succeed(verdict.counted);
        return { kind: 'signed_in', account, accountDigest: login.accountDigest };
      });
      return admission.ran ? admission.value : { kind: 'busy' };
    },
  };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;
