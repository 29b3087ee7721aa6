// Prisma calls for Throttle rows, and nothing else: the back-off rules live in
// throttle-service.ts. Every write is one statement whose condition the
// database checks as it writes (an upsert with `failures + 1`, an updateMany
// with a WHERE), so instances counting the same key at once never lose a
// failure, on SQLite and PostgreSQL alike. Times are always passed in, never
// left to Prisma's @updatedAt, so the service's clock is the only clock.
import type { Models, PrismaClient } from '../db/database.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type ThrottleRow = Models.ThrottleModel;

/** Rows deleted per statement by purgeIdle: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

export function createThrottleRepository(prisma: PrismaClient) {
  return {
    findMany(keys: readonly string[]): Promise<ThrottleRow[]> {
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
