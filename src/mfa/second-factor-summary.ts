// What second factors each of a page of accounts has, for the Admin API's
// user objects: a confirmed authenticator app, how many passkeys, how many
// unused recovery codes. Three grouped reads for the whole page, whatever
// its size, rather than three per account. Read-only, through Prisma's
// model queries; TotpFactor and RecoveryCode belong to mfa-repository.ts
// and Passkey to passkeys/passkey-repository.ts for everything else.
import type { Database } from '../db/database.ts';

export interface SecondFactorSummary {
  readonly totp: boolean;
  readonly passkeys: number;
  readonly recoveryCodesLeft: number;
}

export const NO_SECOND_FACTORS: SecondFactorSummary = Object.freeze({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });

export function createSecondFactorSummary({ prisma }: Pick<Database, 'prisma'>) {
  return {
    /** One summary per id asked for (ids without any factor get NO_SECOND_FACTORS). */
    async of(accountIds: readonly string[]): Promise<Map<string, SecondFactorSummary>> {
      const ids = [...new Set(accountIds)];
      if (ids.length === 0) return new Map();
      const [apps, passkeys, codes] = await Promise.all([
        prisma.totpFactor.findMany({ where: { accountId: { in: ids }, confirmedAt: { not: null } }, select: { accountId: true } }),
        prisma.passkey.groupBy({ by: ['accountId'], where: { accountId: { in: ids } }, _count: { _all: true } }),
        prisma.recoveryCode.groupBy({ by: ['accountId'], where: { accountId: { in: ids }, usedAt: null }, _count: { _all: true } }),
      ]);
      const withApp = new Set(apps.map((row) => row.accountId));
      const passkeyCount = new Map(passkeys.map((row) => [row.accountId, row._count._all]));
      const codeCount = new Map(codes.map((row) => [row.accountId, row._count._all]));
      return new Map(ids.map((id) => [id, { totp: withApp.has(id), passkeys: passkeyCount.get(id) ?? 0, recoveryCodesLeft: codeCount.get(id) ?? 0 }]));
    },
  };
}

export type SecondFactorSummaries = ReturnType<typeof createSecondFactorSummary>;
