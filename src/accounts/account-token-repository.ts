// Database calls for AccountToken rows (the links mailed to people), and
// nothing else: what a token is for and how long it lives are
// account-tokens.ts's. Not a hot table (a few rows per sign-up, reset or
// invitation), so every call goes through Prisma. The consume is one
// conditional update: of two requests using one link at once, the database
// lets exactly one update match, on SQLite and PostgreSQL alike.
import type { Database, Models } from '../db/database.ts';

export type AccountTokenRow = Models.AccountTokenModel;

export interface NewAccountToken {
  /** SHA-256 (base64url) of the token. */
  readonly id: string;
  readonly purpose: string;
  readonly accountId: string;
  readonly email: string;
  readonly interactionUid: string | null;
  readonly expiresAt: Date;
}

/** Rows deleted per statement by purgeExpired: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

export function createAccountTokenRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    async insert(token: NewAccountToken, now: Date): Promise<void> {
      await prisma.accountToken.create({ data: { ...token, createdAt: now } });
    },

    async findById(id: string): Promise<AccountTokenRow | undefined> {
      return (await prisma.accountToken.findUnique({ where: { id } })) ?? undefined;
    },

    /** Whether the account has a token of this purpose asked for from that sign-in page (used or not). */
    async existsFor(accountId: string, purpose: string, interactionUid: string): Promise<boolean> {
      return (await prisma.accountToken.count({ where: { accountId, purpose, interactionUid } })) > 0;
    },

    /** Marks the token used if it is unused and unexpired; true for the one caller that did. */
    async consume(id: string, purpose: string, now: Date): Promise<boolean> {
      const { count } = await prisma.accountToken.updateMany({
        where: { id, purpose, consumedAt: null, expiresAt: { gt: now } },
        data: { consumedAt: now },
      });
      return count === 1;
    },

    /** Marks every unused token of the account for these purposes used: a newer link, or a change that makes them moot. */
    async consumeAllFor(accountId: string, purposes: readonly string[], now: Date): Promise<number> {
      const { count } = await prisma.accountToken.updateMany({
        where: { accountId, purpose: { in: [...purposes] }, consumedAt: null },
        data: { consumedAt: now },
      });
      return count;
    },

    /** Deletes every token of the account (the account is being deleted). */
    async deleteForAccount(accountId: string): Promise<number> {
      const { count } = await prisma.accountToken.deleteMany({ where: { accountId } });
      return count;
    },

    /** Deletes up to `limit` rows that expired before `before`; resolves to how many. */
    async purgeExpired(before: Date, limit = PURGE_BATCH_SIZE): Promise<number> {
      const rows = await prisma.accountToken.findMany({ where: { expiresAt: { lt: before } }, select: { id: true }, take: limit });
      if (rows.length === 0) return 0;
      const { count } = await prisma.accountToken.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
      return count;
    },
  };
}

export type AccountTokenRepository = ReturnType<typeof createAccountTokenRepository>;
