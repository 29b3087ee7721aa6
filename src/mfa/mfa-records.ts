// What can be known and done about an account's second factors without
// their secrets: whether TOTP is set up, how many recovery codes are left,
// and removing everything (an operator's `latchkey user reset-mfa`, a
// deleted account). Needs no master secret, so the CLI's services have it
// too (services.ts); codes are checked by mfa-service.ts.
import type { MfaRepository } from './mfa-repository.ts';

export type TotpState = 'none' | 'pending' | 'confirmed';

export interface MfaStatus {
  readonly totp: TotpState;
  readonly recoveryCodesLeft: number;
}

export function createMfaRecords({ repository }: { readonly repository: MfaRepository }) {
  return {
    async status(accountId: string): Promise<MfaStatus> {
      const [factor, left] = await Promise.all([repository.findTotp(accountId), repository.countUnusedRecoveryCodes(accountId)]);
      return { totp: !factor ? 'none' : factor.confirmedAt ? 'confirmed' : 'pending', recoveryCodesLeft: left };
    },

    /** Whether the account is asked for a second factor after its password: a confirmed TOTP. */
    async hasSecondFactor(accountId: string): Promise<boolean> {
      return Boolean((await repository.findTotp(accountId))?.confirmedAt);
    },

    /** Removes the authenticator app and every recovery code; true when there was an app. */
    reset(accountId: string): Promise<boolean> {
      return repository.deleteAll(accountId);
    },
  };
}

export type MfaRecords = ReturnType<typeof createMfaRecords>;
