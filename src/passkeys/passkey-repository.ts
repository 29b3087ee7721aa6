// Database calls for Passkey rows (an account's WebAuthn credentials), and
// nothing else: the rules (names, counters, who may remove what) are
// passkey-service.ts's. The counter update is conditional on the value read,
// so of two parallel uses of one credential only one moves it.
import type { Database, Models } from '../db/database.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type PasskeyRow = Models.PasskeyModel;

export interface NewPasskey {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: string | null;
}

export function createPasskeyRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    /** False when a passkey with this credential id exists already (of any account). */
    async insert(passkey: NewPasskey, now: Date): Promise<boolean> {
      try {
        await prisma.passkey.create({ data: { ...passkey, createdAt: now } });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async findById(id: string): Promise<PasskeyRow | undefined> {
      return (await prisma.passkey.findUnique({ where: { id } })) ?? undefined;
    },

    /** Oldest first: the order the account page lists them in. */
    async listForAccount(accountId: string): Promise<PasskeyRow[]> {
      return prisma.passkey.findMany({ where: { accountId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },

    /** Deletes the passkey if it is the account's; true when it was. */
    async deleteForAccount(accountId: string, id: string): Promise<boolean> {
      const { count } = await prisma.passkey.deleteMany({ where: { id, accountId } });
      return count === 1;
    },

    async deleteAllForAccount(accountId: string): Promise<number> {
      const { count } = await prisma.passkey.deleteMany({ where: { accountId } });
      return count;
    },

    /** Moves the counter from `from` to `to` and stamps the use; false when another use moved it first. */
    async recordUse(id: string, from: number, to: number, now: Date): Promise<boolean> {
      const { count } = await prisma.passkey.updateMany({ where: { id, counter: from }, data: { counter: to, lastUsedAt: now } });
      return count === 1;
    },
  };
}

export type PasskeyRepository = ReturnType<typeof createPasskeyRepository>;
