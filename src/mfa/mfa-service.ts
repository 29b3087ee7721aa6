// The second-factor rules: enrolling an authenticator app (a pending secret
// until the first right code confirms it, which also makes the recovery
// codes), checking a code at sign-in (a TOTP code once per step, or an
// unused recovery code), regenerating recovery codes and removing the app.
// Failed codes are counted per account in the shared Throttle table, so a
// stolen password cannot be followed by a million guesses, whatever the
// instance or address; a right code clears the count.
import type { Sealer } from '../keys/sealing.ts';
import type { ThrottleKeys } from '../throttle/throttle-keys.ts';
import type { ThrottleService } from '../throttle/throttle-service.ts';
import type { MfaRepository } from './mfa-repository.ts';
import { newRecoveryCode, normaliseRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeHash } from './recovery-codes.ts';
import { newTotpSecret, totpStep, totpUri } from './totp.ts';

export interface MfaServiceDeps {
  readonly repository: MfaRepository;
  /** Seals TOTP secrets (a key of its own, derived from the master secret: mfa/totp-sealer.ts). */
  readonly sealer: Sealer;
  readonly throttle: Pick<ThrottleService, 'check' | 'fail' | 'succeed'>;
  readonly keys: Pick<ThrottleKeys, 'mfa'>;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export type CodeCheck =
  | { readonly ok: true; readonly method: 'otp' | 'recovery_code' }
  | { readonly ok: false; readonly reason: 'wrong' }
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };

export interface Enrolment {
  readonly secret: string;
  readonly uri: string;
}

export function createMfaService({ repository, sealer, throttle, keys, now = Date.now }: MfaServiceDeps) {
  // Bound to the account: a sealed secret copied to another account's row does not open.
  const context = (accountId: string) => `totp:${accountId}`;

  async function newRecoveryCodes(accountId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await repository.replaceRecoveryCodes(accountId, codes.map((code) => recoveryCodeHash(normaliseRecoveryCode(code)!)));
    return codes;
  }

  /** Runs `check` unless the account's key is blocked; counts a failure, clears the count on success. */
  async function throttled(accountId: string, check: () => Promise<CodeCheck>): Promise<CodeCheck> {
    const key = keys.mfa(accountId);
    const verdict = await throttle.check([key]);
    if (!verdict.allowed) return { ok: false, reason: 'throttled', retryAfter: verdict.retryAfter };
    const outcome = await check();
    if (outcome.ok) {
      if (verdict.counted.length > 0) await throttle.succeed(verdict.counted);
    } else {
      await throttle.fail([key]);
    }
    return outcome;
  }

  return {
    /** Starts (or restarts) enrolment with a new secret; undefined when an app is already confirmed. */
    async startTotp(accountId: string): Promise<boolean> {
      return repository.putPendingTotp(accountId, sealer.seal(newTotpSecret(), context(accountId)), new Date(now()));
    },

    /** The pending enrolment's secret and URI, to show as a QR code and as text. */
    async pendingTotp(accountId: string, label: { issuer: string; email: string }): Promise<Enrolment | undefined> {
      const factor = await repository.findTotp(accountId);
      if (!factor || factor.confirmedAt) return undefined;
      const secret = sealer.open(factor.sealedSecret, context(accountId));
      return { secret, uri: totpUri(secret, { issuer: label.issuer, label: label.email }) };
    },

    /** Confirms the pending app with its first code; resolves to the new recovery codes (shown once). */
    async confirmTotp(accountId: string, code: string): Promise<{ ok: true; recoveryCodes: string[] } | Exclude<CodeCheck, { ok: true }>> {
      let step: number | undefined;
      const outcome = await throttled(accountId, async () => {
        const factor = await repository.findTotp(accountId);
        if (!factor || factor.confirmedAt) return { ok: false, reason: 'wrong' };
        step = totpStep(sealer.open(factor.sealedSecret, context(accountId)), code, now());
        if (step === undefined || !(await repository.confirmTotp(accountId, step, new Date(now())))) return { ok: false, reason: 'wrong' };
        return { ok: true, method: 'otp' };
      });
      if (!outcome.ok) return outcome;
      return { ok: true, recoveryCodes: await newRecoveryCodes(accountId) };
    },

    /** Checks a code typed at sign-in: a TOTP code (once per step) or an unused recovery code. */
    async verify(accountId: string, typed: string): Promise<CodeCheck> {
      return throttled(accountId, async () => {
        const recovery = normaliseRecoveryCode(typed);
        if (recovery) {
          return (await repository.useRecoveryCode(accountId, recoveryCodeHash(recovery), new Date(now()))) ? { ok: true, method: 'recovery_code' } : { ok: false, reason: 'wrong' };
        }
        const factor = await repository.findTotp(accountId);
        if (!factor?.confirmedAt) return { ok: false, reason: 'wrong' };
        const step = totpStep(sealer.open(factor.sealedSecret, context(accountId)), typed, now());
        // A step at or before the last used one is a replay (or an older code): refused like a wrong one.
        return step !== undefined && (await repository.useStep(accountId, step)) ? { ok: true, method: 'otp' } : { ok: false, reason: 'wrong' };
      });
    },

    /** Replaces every recovery code; undefined without a confirmed app (nothing to recover). */
    async regenerateRecoveryCodes(accountId: string): Promise<string[] | undefined> {
      if (!(await repository.findTotp(accountId))?.confirmedAt) return undefined;
      return newRecoveryCodes(accountId);
    },
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
