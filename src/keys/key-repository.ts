// Prisma calls for the SigningKey and CookieKey tables, plus the one database
// lock that lets several processes create the initial key set without each
// creating its own. No rules here: which keys sign, and when, is the service's call.
import type { Dialect } from '../config/config.ts';
import type { Models, PrismaClient } from '../db/database.ts';
import type { Prisma } from '../db/generated/sqlite/client.ts';

export type SigningKeyRow = Models.SigningKeyModel;
export type CookieKeyRow = Models.CookieKeyModel;
export type KeyTimelineRow = Pick<SigningKeyRow, 'kid' | 'alg' | 'state' | 'activatesAt' | 'retiredAt' | 'createdAt'>;

export interface NewSigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: string;
  readonly sealedPrivate: string;
  readonly state: string;
  readonly activatesAt?: Date | null;
  readonly createdAt: Date;
}

export interface NewCookieKey {
  readonly id: string;
  readonly sealedValue: string;
  readonly createdAt: Date;
}

/** Arbitrary but fixed: every Latchkey process must take the same PostgreSQL advisory lock. */
export const KEYS_ADVISORY_LOCK = 0x4c4b4b59; // "LKKY"

// Key generation happens before the transaction; inside it only reads and a
// few inserts run, but a peer holding the lock makes us wait that long.
const LOCKED_TRANSACTION = { maxWait: 10_000, timeout: 20_000 } as const;

type Client = PrismaClient | Prisma.TransactionClient;

function createKeyQueries(prisma: Client) {
  return {
    /** Every signing key, whatever its state, newest first. */
    async listSigningKeys(): Promise<SigningKeyRow[]> {
      return prisma.signingKey.findMany({ orderBy: [{ createdAt: 'desc' }, { kid: 'desc' }] });
    },

    /** Signing keys in any of `states`. */
    async findSigningKeysInStates(states: readonly string[]): Promise<SigningKeyRow[]> {
      return prisma.signingKey.findMany({ where: { state: { in: [...states] } }, orderBy: [{ createdAt: 'desc' }, { kid: 'desc' }] });
    },

    /**
     * Every signing key's kid, alg and timeline, without key material: what
     * the key-set watcher polls every few seconds, so it stays one cheap read.
     */
    async listKeyTimelines(): Promise<KeyTimelineRow[]> {
      return prisma.signingKey.findMany({
        select: { kid: true, alg: true, state: true, activatesAt: true, retiredAt: true, createdAt: true },
        orderBy: [{ createdAt: 'desc' }, { kid: 'desc' }],
      });
    },

    /** Sets the key's state to 'retired'; returns whether a live key was there to retire. */
    async retireSigningKey(kid: string, at: Date): Promise<boolean> {
      const { count } = await prisma.signingKey.updateMany({ where: { kid, state: { not: 'retired' } }, data: { state: 'retired', retiredAt: at } });
      return count > 0;
    },

    async listCookieKeys(): Promise<CookieKeyRow[]> {
      return prisma.cookieKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },

    async insertSigningKeys(keys: readonly NewSigningKey[]): Promise<void> {
      if (keys.length === 0) return;
      await prisma.signingKey.createMany({ data: keys.map((key) => ({ ...key, activatesAt: key.activatesAt ?? null })) });
    },

    /** Replaces a signing key's sealed private half (the same key, sealed under another master secret). */
    async resealSigningKey(kid: string, sealedPrivate: string): Promise<void> {
      await prisma.signingKey.update({ where: { kid }, data: { sealedPrivate } });
    },

    async resealCookieKey(id: string, sealedValue: string): Promise<void> {
      await prisma.cookieKey.update({ where: { id }, data: { sealedValue } });
    },

    async insertCookieKeys(keys: readonly NewCookieKey[]): Promise<void> {
      if (keys.length === 0) return;
      await prisma.cookieKey.createMany({ data: [...keys] });
    },
  };
}

export type KeyQueries = ReturnType<typeof createKeyQueries>;

// better-sqlite3 waits for a database lock by blocking the thread (busy
// timeout), so two connections in ONE process would stall each other until the
// timeout and fail. Callers in this process therefore queue here, without
// blocking; other processes still wait on SQLite's own lock.
let sqliteLockQueue: Promise<unknown> = Promise.resolve();
function queueInProcess<T>(run: () => Promise<T>): Promise<T> {
  const result = sqliteLockQueue.then(run, run);
  sqliteLockQueue = result.catch(() => {});
  return result;
}

export function createKeyRepository(prisma: PrismaClient, dialect: Dialect) {
  return {
    ...createKeyQueries(prisma),

    /**
     * Runs `work` in a transaction that holds the key-set lock, so reads made
     * inside it are not outdated by another process before our writes commit.
     * PostgreSQL: a transaction-scoped advisory lock, released at commit or
     * rollback. SQLite: a no-op UPDATE as the first statement takes the
     * database's write lock at once (a deferred transaction that read first
     * would fail with SQLITE_BUSY when it later tried to write).
     */
    async withKeySetLock<T>(work: (keys: KeyQueries) => Promise<T>): Promise<T> {
      const locked = () =>
        prisma.$transaction(async (tx) => {
          if (dialect === 'postgres') {
            await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_ADVISORY_LOCK}::bigint)`;
          } else {
            await tx.$executeRaw`UPDATE "SigningKey" SET "state" = "state" WHERE 0 = 1`;
          }
          return work(createKeyQueries(tx));
        }, LOCKED_TRANSACTION);
      return dialect === 'sqlite' ? queueInProcess(locked) : locked();
    },
  };
}

export type KeyRepository = ReturnType<typeof createKeyRepository>;
