// Database calls for PasskeyChallenge rows (WebAuthn challenges handed out
// and not yet answered), and nothing else. Taking a challenge is one delete
// of the row that matches the challenge, its purpose and its binding, and is
// unexpired: of two parallel answers the database lets exactly one delete it,
// on SQLite and PostgreSQL alike.
import type { Database } from '../db/database.ts';

export interface NewChallenge {
  readonly id: string;
  readonly purpose: string;
  readonly boundTo: string;
  readonly accountId: string | null;
  readonly expiresAt: Date;
}

export function createChallengeRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    async insert(challenge: NewChallenge): Promise<void> {
      await prisma.passkeyChallenge.create({ data: challenge });
    },

    /** Deletes the challenge if it is unexpired and matches; true for the one caller that did. */
    async take(where: { id: string; purpose: string; boundTo: string; accountId: string | null }, now: Date): Promise<boolean> {
      const { count } = await prisma.passkeyChallenge.deleteMany({ where: { ...where, expiresAt: { gt: now } } });
      return count === 1;
    },

    /** Challenges nobody answered in time: no read finds them, this keeps the table small. */
    async purgeExpired(now: Date): Promise<number> {
      const { count } = await prisma.passkeyChallenge.deleteMany({ where: { expiresAt: { lte: now } } });
      return count;
    },
  };
}

export type ChallengeRepository = ReturnType<typeof createChallengeRepository>;
