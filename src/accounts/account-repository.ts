// Prisma calls for Account rows, and nothing else: the rules live in
// account-service.ts.
import type { Models, PrismaClient } from '../db/database.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type AccountRow = Models.AccountModel;

export interface NewAccountRow {
  readonly id: string;
  /** Already normalised (trimmed, lower-case) by the service. */
  readonly email: string;
  readonly name: string | null;
  readonly passwordHash: string;
}

export type AccountChanges = Partial<Pick<AccountRow, 'passwordHash' | 'disabled' | 'name' | 'emailVerified'>>;

export function createAccountRepository(prisma: PrismaClient) {
  return {
    /** Resolves to undefined when the email is already taken (unique index). */
    async insert(row: NewAccountRow): Promise<AccountRow | undefined> {
      try {
        return await prisma.account.create({ data: row });
      } catch (error) {
        if (isUniqueViolation(error)) return undefined;
        throw error;
      }
    },

    list(): Promise<AccountRow[]> {
      return prisma.account.findMany({ orderBy: [{ email: 'asc' }] });
    },

    async findById(id: string): Promise<AccountRow | undefined> {
      return (await prisma.account.findUnique({ where: { id } })) ?? undefined;
    },

    async findByEmail(email: string): Promise<AccountRow | undefined> {
      return (await prisma.account.findUnique({ where: { email } })) ?? undefined;
    },

    /** Resolves to the updated row, or undefined when the account does not exist. */
    async update(id: string, changes: AccountChanges): Promise<AccountRow | undefined> {
      const { count } = await prisma.account.updateMany({ where: { id }, data: changes });
      return count > 0 ? ((await prisma.account.findUnique({ where: { id } })) ?? undefined) : undefined;
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
