// Database calls for MailOutbox rows, and nothing else: when to retry and
// what to send live in mail-sender.ts. Not a hot table (a few rows per
// sign-up or reset), so every call goes through Prisma. A claim is one
// conditional update on the row as it was read (its attempt count and due
// time): when two instances read the same due row, the database lets one
// update match and the other finds nothing, on SQLite and PostgreSQL alike.
import { randomUUID } from 'node:crypto';
import type { Database, Models } from '../db/database.ts';

export type MailOutboxRow = Models.MailOutboxModel;

export interface NewMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** A row as read to be claimed: enough to make the claim conditional on it. */
export type DueMail = Pick<MailOutboxRow, 'id' | 'attempts' | 'nextAttemptAt'>;

/** Neither sent nor given up. */
const PENDING = { sentAt: null, failedAt: null } as const;

export function createMailOutboxRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    /** Stores a mail due at once; returns its id. */
    async insert(mail: NewMail, now: Date): Promise<string> {
      const id = randomUUID();
      await prisma.mailOutbox.create({ data: { id, ...mail, nextAttemptAt: now, createdAt: now } });
      return id;
    },

    /** Pending rows due at `now`, the longest-waiting first. */
    async findDue(now: Date, limit: number): Promise<DueMail[]> {
      return prisma.mailOutbox.findMany({
        where: { ...PENDING, nextAttemptAt: { lte: now } },
        select: { id: true, attempts: true, nextAttemptAt: true },
        orderBy: { nextAttemptAt: 'asc' },
        take: limit,
      });
    },

    /**
     * Takes the row for one send: counts the attempt and moves its due time to
     * `leaseUntil`, only if nobody has since. Returns the row to send, or null
     * when another sender was first.
     */
    async claim(due: DueMail, leaseUntil: Date): Promise<MailOutboxRow | null> {
      const { count } = await prisma.mailOutbox.updateMany({
        where: { id: due.id, ...PENDING, attempts: due.attempts, nextAttemptAt: due.nextAttemptAt },
        data: { attempts: { increment: 1 }, nextAttemptAt: leaseUntil },
      });
      if (count !== 1) return null;
      return prisma.mailOutbox.findUnique({ where: { id: due.id } });
    },

    /** Sent: the body goes (its links carry tokens), the row stays as a record. */
    async markSent(id: string, now: Date): Promise<void> {
      await prisma.mailOutbox.update({ where: { id }, data: { sentAt: now, lastError: null, text: '', html: '' } });
    },

    async scheduleRetry(id: string, at: Date, lastError: string): Promise<void> {
      await prisma.mailOutbox.update({ where: { id }, data: { nextAttemptAt: at, lastError } });
    },

    /** Given up: no more attempts, and the body goes as when sent. */
    async markFailed(id: string, now: Date, lastError: string): Promise<void> {
      await prisma.mailOutbox.update({ where: { id }, data: { failedAt: now, lastError, text: '', html: '' } });
    },

    /** When the next pending row falls due (claimed rows included, at their lease's end), or null when none is pending. */
    async nextDueAt(): Promise<Date | null> {
      const row = await prisma.mailOutbox.findFirst({ where: PENDING, select: { nextAttemptAt: true }, orderBy: { nextAttemptAt: 'asc' } });
      return row?.nextAttemptAt ?? null;
    },

    async findById(id: string): Promise<MailOutboxRow | null> {
      return prisma.mailOutbox.findUnique({ where: { id } });
    },
  };
}

export type MailOutboxRepository = ReturnType<typeof createMailOutboxRepository>;
