// Database calls for LogoutOutbox rows, and nothing else: which clients are
// owed a logout is logout-notices.ts's call, when to retry logout-sender.ts's.
// The claim is the mail outbox's (mail-outbox-repository.ts): one conditional
// update on the row as it was read, so of two instances reading the same due
// row, one update matches and the other finds nothing, on SQLite and
// PostgreSQL alike.
import { randomUUID } from 'node:crypto';
import type { Database, Models } from '../db/database.ts';

export type LogoutOutboxRow = Models.LogoutOutboxModel;

/** What ended a session, as recorded on its notices and their audit events. */
export type SessionEndTrigger = 'logout' | 'password_set' | 'password_changed' | 'sessions_revoked' | 'sessions_ended' | 'account_deleted' | 'account_disabled';

export interface NewLogoutNotice {
  readonly clientId: string;
  readonly accountId: string;
  readonly sid: string | null;
  readonly trigger: SessionEndTrigger;
}

/** A row as read to be claimed: enough to make the claim conditional on it. */
export type DueLogout = Pick<LogoutOutboxRow, 'id' | 'attempts' | 'nextAttemptAt'>;

/** Neither delivered nor given up. */
const PENDING = { deliveredAt: null, failedAt: null } as const;

export function createLogoutOutboxRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    /** Stores the notices, due at once; returns their ids in order. */
    async insertMany(notices: readonly NewLogoutNotice[], now: Date): Promise<string[]> {
      const rows = notices.map((notice) => ({ id: randomUUID(), ...notice, nextAttemptAt: now, createdAt: now }));
      if (rows.length) await prisma.logoutOutbox.createMany({ data: rows });
      return rows.map((row) => row.id);
    },

    /** Pending rows due at `now`, the longest-waiting first. */
    async findDue(now: Date, limit: number): Promise<DueLogout[]> {
      return prisma.logoutOutbox.findMany({
        where: { ...PENDING, nextAttemptAt: { lte: now } },
        select: { id: true, attempts: true, nextAttemptAt: true },
        orderBy: { nextAttemptAt: 'asc' },
        take: limit,
      });
    },

    /** Takes the row for one attempt (counts it, moves its due time to `leaseUntil`) unless another sender has; null when one has. */
    async claim(due: DueLogout, leaseUntil: Date): Promise<LogoutOutboxRow | null> {
      const { count } = await prisma.logoutOutbox.updateMany({
        where: { id: due.id, ...PENDING, attempts: due.attempts, nextAttemptAt: due.nextAttemptAt },
        data: { attempts: { increment: 1 }, nextAttemptAt: leaseUntil },
      });
      if (count !== 1) return null;
      return prisma.logoutOutbox.findUnique({ where: { id: due.id } });
    },

    async markDelivered(id: string, now: Date): Promise<void> {
      await prisma.logoutOutbox.update({ where: { id }, data: { deliveredAt: now, lastError: null } });
    },

    async scheduleRetry(id: string, at: Date, lastError: string): Promise<void> {
      await prisma.logoutOutbox.update({ where: { id }, data: { nextAttemptAt: at, lastError } });
    },

    async markFailed(id: string, now: Date, lastError: string): Promise<void> {
      await prisma.logoutOutbox.update({ where: { id }, data: { failedAt: now, lastError } });
    },

    /** When the next pending row falls due (claimed rows at their lease's end), or null when none is pending. */
    async nextDueAt(): Promise<Date | null> {
      const row = await prisma.logoutOutbox.findFirst({ where: PENDING, select: { nextAttemptAt: true }, orderBy: { nextAttemptAt: 'asc' } });
      return row?.nextAttemptAt ?? null;
    },

    async findById(id: string): Promise<LogoutOutboxRow | null> {
      return prisma.logoutOutbox.findUnique({ where: { id } });
    },

    /** Deletes up to `limit` rows delivered or given up before `before`, 500 a statement; returns how many. */
    async purgeFinished(before: Date, limit: number): Promise<number> {
      let deleted = 0;
      while (deleted < limit) {
        const rows = await prisma.logoutOutbox.findMany({
          where: { OR: [{ deliveredAt: { lt: before } }, { failedAt: { lt: before } }] },
          select: { id: true },
          take: Math.min(500, limit - deleted),
        });
        if (!rows.length) break;
        deleted += (await prisma.logoutOutbox.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } })).count;
        if (rows.length < 500) break;
      }
      return deleted;
    },
  };
}

export type LogoutOutboxRepository = ReturnType<typeof createLogoutOutboxRepository>;
