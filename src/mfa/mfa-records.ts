// What can be known and done about an account's second factors without
// their secrets: whether TOTP is set up, how many recovery codes are left,
// whether it has passkeys (one can be the second factor after a password),
// and removing the app and codes (an operator's `latchkey user reset-mfa`, a
// deleted account). Needs no master secret, so the CLI's services have it
// too (services.ts); codes are checked by mfa-service.ts.
import type { PasskeyRepository } from '../passkeys/passkey-repository.ts';
import type { MfaRepository } from './mfa-repository.ts';

export type TotpState = 'none' | 'pending' | 'confirmed';

export interface MfaStatus {
  readonly totp: TotpState;
  readonly recoveryCodesLeft: number;
}

/** Which second factors an account can be asked for after its password. */
export interface SecondFactors {
  /** A confirmed authenticator app (and so its recovery codes): the code form. */
  readonly totp: boolean;
  /** At least one passkey: "Use a passkey instead". */
  readonly passkey: boolean;
}

export interface MfaRecordsDeps {
  readonly repository: MfaRepository;
  readonly passkeys: Pick<PasskeyRepository, 'countForAccount'>;
}

export function createMfaRecords({ repository, passkeys }: MfaRecordsDeps) {
  async function secondFactors(accountId: string): Promise<SecondFactors> {
    const [factor, passkeyCount] = await Promise.all([repository.findTotp(accountId), passkeys.countForAccount(accountId)]);
    return { totp: Boolean(factor?.confirmedAt), passkey: passkeyCount > 0 };
  }

  return {
    secondFactors,

    async status(accountId: string): Promise<MfaStatus> {
      const [factor, left] = await Promise.all([repository.findTotp(accountId), repository.countUnusedRecoveryCodes(accountId)]);
      return { totp: !factor ? 'none' : factor.confirmedAt ? 'confirmed' : 'pending', recoveryCodesLeft: left };
    },

    /** Whether the account is asked for a second factor after its password: a confirmed TOTP, or a passkey. */
    async hasSecondFactor(accountId: string): Promise<boolean> {
      const factors = await secondFactors(accountId);
      return factors.totp || factors.passkey;
    },

    /** Removes the authenticator app and every recovery code; true when there was an app. */
    reset(accountId: string): Promise<boolean> {
      return repository.deleteAll(accountId);
    },
  };
}

export type MfaRecords = ReturnType<typeof createMfaRecords>;
