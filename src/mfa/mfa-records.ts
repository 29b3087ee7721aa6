// What can be known and done about an account's second factors without
// their secrets: whether TOTP is set up, how many recovery codes are left,
// whether it has passkeys (one can be the second factor after a password),
// and removing the app and codes (an operator's `latchkey user reset-mfa`, a
// deleted account). Needs no master secret, so the CLI's services have it
// too (services.ts); codes are checked by mfa-service.ts.
import type { MfaRepository } from './mfa-repository.ts';
import type { SecondFactorQuery, SecondFactors } from './second-factor-query.ts';

export type { SecondFactors } from './second-factor-query.ts';

export type TotpState = 'none' | 'pending' | 'confirmed';

export interface MfaStatus {
  readonly totp: TotpState;
  readonly recoveryCodesLeft: number;
}

export interface MfaRecordsDeps {
  readonly repository: MfaRepository;
  readonly secondFactors: SecondFactorQuery;
}

export function createMfaRecords({ repository, secondFactors: query }: MfaRecordsDeps) {
  /** Which second factors the account can be asked for after its password. */
  const secondFactors = (accountId: string): Promise<SecondFactors> => query.of(accountId);

  return {
    secondFactors,

    async status(accountId: string): Promise<MfaStatus> {
      const [factor, left] = await Promise.all([repository.findTotp(accountId), repository.countUnusedRecoveryCodes(accountId)]);
      return { totp: !factor ? 'none' : factor.confirmedAt ? 'confirmed' : 'pending', recoveryCodesLeft: left };
    },

    /** Whether the account is asked for a second factor after its password: a confirmed TOTP, or a passkey. */
    async hasSecondFactor(accountId: string): Promise<boolean> {
      const factors = await query.of(accountId);
      return factors.totp || factors.passkey;
    },

    /** Removes the authenticator app and every recovery code; true when there was an app. */
    reset(accountId: string): Promise<boolean> {
      return repository.deleteAll(accountId);
    },
  };
}

export type MfaRecords = ReturnType<typeof createMfaRecords>;
