// Database calls for Throttle rows, and nothing else: the back-off rules live in
// throttle-service.ts. The lookup runs on every sign-in and every client
// authentication the throttle has not recently seen, so it is a statement
// prepared once (db/prepared-statements.ts). Every write is one statement whose condition the
// database checks as it writes (an upsert with `failures + 1`, an updateMany
// with a WHERE), so instances counting the same key at once never lose a
// failure, on SQLite and PostgreSQL alike. Times are always passed in, never
// left to Prisma's @updatedAt, so the service's clock is the only clock.
import type { Database, Models } from '../db/database.ts';
import { BUSY, fromStoredTime } from '../db/prepared-statements.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type ThrottleRow = Models.ThrottleModel;

/** Rows deleted per statement by purgeIdle: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

/** A row as the prepared statements hand it over: times as text. */
type StoredRow = Omit<ThrottleRow, 'windowStart' | 'blockedUntil' | 'updatedAt'> & { windowStart: string; blockedUntil: string | null; updatedAt: string };

const fromStored = (row: StoredRow): ThrottleRow => ({
  ...row,
  windowStart: fromStoredTime(row.windowStart)!,
  blockedUntil: fromStoredTime(row.blockedUntil),
  updatedAt: fromStoredTime(row.updatedAt)!,
});

/** One text per number of keys (a login looks up two, a client authentication one or two). */
const findManySql = (count: number) =>
  `SELECT "key", "failures", "windowStart", "blockedUntil", "updatedAt" FROM "Throttle" WHERE "key" IN (${Array.from({ length: count }, () => '?').join(', ')})`;

export function createThrottleRepository({ prisma, statements }: Pick<Database, 'prisma' | 'statements'>) {
  return {
    async findMany(keys: readonly string[]): Promise<ThrottleRow[]> {
      if (statements && keys.length > 0 && keys.length <= 4) {
        const rows = await statements.all<StoredRow>(findManySql(keys.length), ...keys);
        if (rows !== BUSY) return rows.map(fromStored);
      }
      return prisma.throttle.findMany({ where: { key: { in: [...keys] } } });
    },

    /** Zeroes the key's count if its last failure was at or before `idleSince`; a no-op otherwise. */
    async forgetIfIdle(key: string, idleSince: Date, now: Date): Promise<void> {
      await prisma.throttle.updateMany({
        where: { key, updatedAt: { lte: idleSince } },
        data: { failures: 0, windowStart: now, blockedUntil: null, updatedAt: now },
      });
    },

    /** Adds one failure (creating the row at 1) and returns the row as written. */
    async addFailure(key: string, now: Date): Promise<ThrottleRow> {
      const upsert = () =>
        prisma.throttle.upsert({
          where: { key },
          create: { key, failures: 1, windowStart: now, updatedAt: now },
          update: { failures: { increment: 1 }, updatedAt: now },
        });
      try {
        return await upsert();
      } catch (error) {
        // Two first failures at once: one insert wins, the other becomes an increment.
        if (isUniqueViolation(error)) return upsert();
        throw error;
      }
    },

    /** Blocks the key until `until`, unless it is already blocked for longer. */
    async extendBlock(key: string, until: Date, now: Date): Promise<void> {
      await prisma.throttle.updateMany({
        where: { key, OR: [{ blockedUntil: null }, { blockedUntil: { lt: until } }] },
        data: { blockedUntil: until, updatedAt: now },
      });
    },

    async deleteMany(keys: readonly string[]): Promise<void> {
      if (keys.length === 0) return;
      await prisma.throttle.deleteMany({ where: { key: { in: [...keys] } } });
    },

    /**
     * Deletes rows untouched since `before` (and not blocked past `now`),
     * PURGE_BATCH_SIZE per statement, at most `limit` in all. Returns how many.
     */
    async purgeIdle(before: Date, now: Date, limit: number = Number.POSITIVE_INFINITY): Promise<number> {
      const idle = { updatedAt: { lt: before }, OR: [{ blockedUntil: null }, { blockedUntil: { lt: now } }] };
      let deleted = 0;
      while (deleted < limit) {
        const batch = await prisma.throttle.findMany({ where: idle, select: { key: true }, take: Math.min(PURGE_BATCH_SIZE, limit - deleted) });
        if (batch.length === 0) break;
        // Checked again: a key that failed again since the select is live and stays.
        const { count } = await prisma.throttle.deleteMany({ where: { key: { in: batch.map((row) => row.key) }, ...idle } });
        deleted += count;
        if (batch.length < PURGE_BATCH_SIZE) break;
      }
      return deleted;
    },
  };
}

export type ThrottleRepository = ReturnType<typeof createThrottleRepository>;
