// Database calls for Throttle rows, and nothing else: the back-off rules live in
// throttle-service.ts. The lookup runs on every sign-in and every client
// authentication the throttle has not recently seen, so it is one raw
// statement through Prisma's connection, without a model query's compiler
// work (see oidc/artifact-repository.ts). Every write is one statement whose condition the
// database checks as it writes (an upsert with `failures + 1`, an updateMany
// with a WHERE), so instances counting the same key at once never lose a
// failure, on SQLite and PostgreSQL alike. Times are always passed in, never
// left to Prisma's @updatedAt, so the service's clock is the only clock.
import { purgeInBatches } from '../db/batch-purge.ts';
import type { Database, Models } from '../db/database.ts';
import { join, sql } from '../db/sql.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';

export type ThrottleRow = Models.ThrottleModel;

/** Rows deleted per statement by purgeIdle (the shared batch size, db/batch-purge.ts). */
export { PURGE_BATCH_SIZE } from '../db/batch-purge.ts';

export function createThrottleRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    async findMany(keys: readonly string[]): Promise<ThrottleRow[]> {
      if (keys.length === 0) return [];
      return prisma.$queryRaw<ThrottleRow[]>(sql`SELECT * FROM "Throttle" WHERE "key" IN (${join(keys)})`);
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
     * PURGE_BATCH_SIZE per batch, at most `limit` in all. Returns how many.
     */
    purgeIdle(before: Date, now: Date, limit?: number): Promise<number> {
      const idle = { updatedAt: { lt: before }, OR: [{ blockedUntil: null }, { blockedUntil: { lt: now } }] };
      return purgeInBatches(
        {
          find: (take) => prisma.throttle.findMany({ where: idle, select: { key: true }, take }),
          // Checked again: a key that failed again since the find is live and stays.
          delete: async (rows) => (await prisma.throttle.deleteMany({ where: { key: { in: rows.map((row) => row.key) }, ...idle } })).count,
        },
        limit,
      );
    },
  };
}

export type ThrottleRepository = ReturnType<typeof createThrottleRepository>;
