// Database calls for TotpFactor and RecoveryCode rows, and nothing else: the
// rules are mfa-service.ts's. The two single-use rules are conditional
// updates, so of two parallel requests the database lets exactly one match
// on SQLite and PostgreSQL alike: a TOTP step moves forward only from a
// smaller one, and a recovery code is used only while "usedAt" IS NULL.
import { randomUUID } from 'node:crypto';
import type { Database, Models } from '../db/database.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type TotpFactorRow = Models.TotpFactorModel;

export function createMfaRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    async findTotp(accountId: string): Promise<TotpFactorRow | undefined> {
      return (await prisma.totpFactor.findUnique({ where: { accountId } })) ?? undefined;
    },

    /** A new pending factor, replacing a pending one; a confirmed one is left alone (false). */
    async putPendingTotp(accountId: string, sealedSecret: string, now: Date): Promise<boolean> {
      await prisma.totpFactor.deleteMany({ where: { accountId, confirmedAt: null } });
      try {
        await prisma.totpFactor.create({ data: { accountId, sealedSecret, createdAt: now } });
        return true;
      } catch (error) {
        // The account's row exists: a confirmed factor (or a parallel enrolment's pending one).
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    /** Confirms the pending factor at `step`; false when it is not pending any more. */
    async confirmTotp(accountId: string, step: number, now: Date): Promise<boolean> {
      const { count } = await prisma.totpFactor.updateMany({ where: { accountId, confirmedAt: null }, data: { confirmedAt: now, lastUsedStep: step } });
      return count === 1;
    },

    /** Records `step` as used if no step at or after it was; true for the one caller that did. */
    async useStep(accountId: string, step: number): Promise<boolean> {
      const { count } = await prisma.totpFactor.updateMany({
        where: { accountId, confirmedAt: { not: null }, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
        data: { lastUsedStep: step },
      });
      return count === 1;
    },

    /** Replaces the account's recovery codes with these digests. */
    async replaceRecoveryCodes(accountId: string, hashes: readonly string[]): Promise<void> {
      await prisma.$transaction([
        prisma.recoveryCode.deleteMany({ where: { accountId } }),
        prisma.recoveryCode.createMany({ data: hashes.map((codeHash) => ({ id: randomUUID(), accountId, codeHash })) }),
      ]);
    },

    /** Marks the unused code with this digest used; true for the one caller that did. */
    async useRecoveryCode(accountId: string, codeHash: string, now: Date): Promise<boolean> {
      const { count } = await prisma.recoveryCode.updateMany({ where: { accountId, codeHash, usedAt: null }, data: { usedAt: now } });
      return count === 1;
    },

    async countUnusedRecoveryCodes(accountId: string): Promise<number> {
      return prisma.recoveryCode.count({ where: { accountId, usedAt: null } });
    },

    /** Deletes the account's factor and codes; resolves to whether there was a factor. */
    async deleteAll(accountId: string): Promise<boolean> {
      const [totp] = await prisma.$transaction([prisma.totpFactor.deleteMany({ where: { accountId } }), prisma.recoveryCode.deleteMany({ where: { accountId } })]);
      return totp.count > 0;
    },
  };
}

export type MfaRepository = ReturnType<typeof createMfaRepository>;
