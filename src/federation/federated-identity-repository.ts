// Prisma calls for FederatedIdentity rows, and nothing else: the rules live in
// federated-identities.ts.
import type { Models, PrismaClient } from '../db/database.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type FederatedIdentityRow = Models.FederatedIdentityModel;

/** Provider and account ids are UUIDs. */
const ID_LENGTH = 36;
/** OpenID Connect Core §2: a `sub` is at most 255 ASCII characters; GitHub's ids are far shorter. */
export const SUBJECT_MAX_LENGTH = 255;

export function createFederatedIdentityRepository(prisma: PrismaClient) {
  return {
    /** The link of an upstream identity; both values may come from an upstream's answer, so unfit ones are simply not found. */
    async find(providerId: string, subject: string): Promise<FederatedIdentityRow | undefined> {
      if (!isDatabaseText(providerId, ID_LENGTH) || !isDatabaseText(subject, SUBJECT_MAX_LENGTH)) return undefined;
      return (await prisma.federatedIdentity.findUnique({ where: { providerId_subject: { providerId, subject } } })) ?? undefined;
    },

    /** Resolves to false when (providerId, subject) is already linked (the primary key decides, also in a race). */
    async insert(row: Omit<FederatedIdentityRow, 'lastUsedAt'> & { readonly lastUsedAt: Date | null }): Promise<boolean> {
      try {
        await prisma.federatedIdentity.create({ data: row });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async touch(providerId: string, subject: string, changes: { readonly email: string | null; readonly lastUsedAt: Date }): Promise<boolean> {
      const { count } = await prisma.federatedIdentity.updateMany({ where: { providerId, subject }, data: changes });
      return count > 0;
    },

    async listForAccount(accountId: string): Promise<FederatedIdentityRow[]> {
      if (!isDatabaseText(accountId, ID_LENGTH)) return [];
      return prisma.federatedIdentity.findMany({ where: { accountId }, orderBy: [{ createdAt: 'asc' }, { providerId: 'asc' }, { subject: 'asc' }] });
    },

    async countForAccount(accountId: string): Promise<number> {
      return prisma.federatedIdentity.count({ where: { accountId } });
    },

    /** Removes the account's links through one provider; resolves to how many there were. */
    async deleteForAccountAndProvider(accountId: string, providerId: string): Promise<number> {
      if (!isDatabaseText(accountId, ID_LENGTH) || !isDatabaseText(providerId, ID_LENGTH)) return 0;
      const { count } = await prisma.federatedIdentity.deleteMany({ where: { accountId, providerId } });
      return count;
    },
  };
}

export type FederatedIdentityRepository = ReturnType<typeof createFederatedIdentityRepository>;
