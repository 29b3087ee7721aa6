// The abuse limits of the self-service pages (sign-up, verification and
// reset mails, mailed links), counted in the database like the login
// throttle, so every instance shares them. A sign-up or a mail is counted
// when it is attempted, whether it then succeeds or not (each can write a
// row or send a mail); a mailed link only when it fails. Over a limit the
// caller answers 429 "try again later" and sends nothing. The keys never
// depend on whether an account exists, so a limit says nothing about that.
import type { SelfServiceKeys, ThrottleKey, ThrottleKeys } from './throttle-keys.ts';
import type { ThrottleScope } from './throttle-policy.ts';
import type { ThrottleService } from './throttle-service.ts';

export type LimitVerdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfter: number; readonly scope: ThrottleScope };

export interface AccountLimitsDeps {
  readonly throttle: Pick<ThrottleService, 'check' | 'fail'>;
  readonly keys: Pick<ThrottleKeys, 'selfService'>;
}

export function createAccountLimits({ throttle, keys }: AccountLimitsDeps) {
  /** Refuses while any key is blocked; otherwise counts the attempt against every key. */
  async function attempt(counted: readonly ThrottleKey[]): Promise<LimitVerdict> {
    const verdict = await throttle.check(counted);
    if (!verdict.allowed) return { allowed: false, retryAfter: verdict.retryAfter, scope: verdict.blockedBy! };
    await throttle.fail(counted);
    return { allowed: true };
  }
  const mailKeys = (k: SelfServiceKeys) => [k.mailIp, ...(k.mailEmail ? [k.mailEmail] : [])];

  return {
    /** A sign-up from `ip` for `email`: counts the address and the mail it will send. */
    signUp(ip: string, email: string): Promise<LimitVerdict> {
      const k = keys.selfService(ip, email);
      return attempt([k.signupIp, ...mailKeys(k)]);
    },

    /** A request that mails `email` (resend a verification, forgot password, change email). */
    mail(ip: string, email: string): Promise<LimitVerdict> {
      return attempt(mailKeys(keys.selfService(ip, email)));
    },

    /** Whether a mailed link from `ip` may be tried now. */
    async link(ip: string): Promise<LimitVerdict> {
      const verdict = await throttle.check([keys.selfService(ip).linkIp]);
      return verdict.allowed ? { allowed: true } : { allowed: false, retryAfter: verdict.retryAfter, scope: verdict.blockedBy! };
    },

    /** A mailed link from `ip` matched nothing (tampered, used, expired). */
    async linkFailed(ip: string): Promise<void> {
      await throttle.fail([keys.selfService(ip).linkIp]);
    },
  };
}

export type AccountLimits = ReturnType<typeof createAccountLimits>;
