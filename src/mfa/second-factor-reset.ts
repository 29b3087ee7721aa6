// Removing every second factor of an account (they lost them): the
// authenticator app, its recovery codes and the passkeys. One function for
// `latchkey user reset-mfa` and the Admin API's POST /users/{id}/reset-mfa,
// so both remove the same things. A person who lost the phone with their
// authenticator app has usually lost the passkeys on it too: leaving those
// would still ask for a second factor they cannot give.
import type { PasskeyService } from '../passkeys/passkey-service.ts';
import type { MfaRecords } from './mfa-records.ts';

export interface SecondFactorResetResult {
  /** Whether there was an authenticator app (pending or confirmed). */
  readonly hadApp: boolean;
  readonly passkeysRemoved: number;
}

export function createSecondFactorReset({ mfa, passkeys }: { readonly mfa: Pick<MfaRecords, 'reset'>; readonly passkeys: Pick<PasskeyService, 'removeAll'> }) {
  return {
    async reset(accountId: string): Promise<SecondFactorResetResult> {
      const hadApp = await mfa.reset(accountId);
      const passkeysRemoved = await passkeys.removeAll(accountId);
      return { hadApp, passkeysRemoved };
    },
  };
}

export type SecondFactorReset = ReturnType<typeof createSecondFactorReset>;
