// Which second factors an account has: a confirmed authenticator app, a
// passkey. Asked after every password sign-in (and on the code page), so it
// is one statement over both tables rather than one lookup per table
// through their repositories: measured, the two Prisma lookups cost the
// bench's login scenario 8 points per CPU (69 against 77), one statement
// none (75 against 76). Read-only, through Prisma's own connection, with the
// column names of the Prisma models; TotpFactor belongs to
// mfa-repository.ts and Passkey to passkeys/passkey-repository.ts for
// everything else.
import type { Database } from '../db/database.ts';

export interface SecondFactors {
  /** A confirmed authenticator app (and so its recovery codes): the code form. */
  readonly totp: boolean;
  /** At least one passkey: "Use a passkey instead". */
  readonly passkey: boolean;
}

// SQLite answers 0/1 (a BigInt through the adapter), PostgreSQL a boolean.
const truthy = (value: unknown) => value === true || Number(value) === 1;

export function createSecondFactorQuery({ prisma }: Pick<Database, 'prisma'>) {
  return {
    async of(accountId: string): Promise<SecondFactors> {
      const [row] = await prisma.$queryRaw<{ totp: unknown; passkey: unknown }[]>`SELECT
        EXISTS (SELECT 1 FROM "TotpFactor" WHERE "accountId" = ${accountId} AND "confirmedAt" IS NOT NULL) AS "totp",
        EXISTS (SELECT 1 FROM "Passkey" WHERE "accountId" = ${accountId}) AS "passkey"`;
      return { totp: truthy(row?.totp), passkey: truthy(row?.passkey) };
    },
  };
}

export type SecondFactorQuery = ReturnType<typeof createSecondFactorQuery>;
