// Database calls for Account rows, and nothing else: the rules live in
// account-service.ts. The two lookups run on every sign-in (several times:
// the login form, the provider's findAccount, the id token's claims), so
// they are statements prepared once (db/prepared-statements.ts);
// everything else goes through Prisma.
import type { Database, Models } from '../db/database.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { BUSY, fromStoredTime } from '../db/prepared-statements.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { EMAIL_MAX_LENGTH } from './account-validation.ts';

export type AccountRow = Models.AccountModel;

export interface NewAccountRow {
  readonly id: string;
  /** Already normalised (trimmed, lower-case) by the service. */
  readonly email: string;
  readonly name: string | null;
  /** Null for an account made by a federated sign-in (it has no password until it sets one). */
  readonly passwordHash: string | null;
  readonly emailVerified?: boolean;
  readonly picture?: string | null;
}

export type AccountChanges = Partial<Pick<AccountRow, 'passwordHash' | 'disabled' | 'name' | 'emailVerified' | 'role' | 'picture'>>;

/** What an operator may change on an account's row (the Admin API's PATCH). */
export type AccountEdit = Partial<Pick<AccountRow, 'name' | 'email' | 'emailVerified' | 'disabled' | 'role'>>;

export interface AccountPageQuery {
  /** Already normalised (lower-case); matched literally, % and _ included. */
  readonly emailPrefix?: string;
  /** Only ids after this one (the cursor: the last id of the previous page). */
  readonly afterId?: string;
  readonly limit: number;
}

/** What a conditional edit came to: the row after it, or why there is none. */
export type EditOutcome = { readonly outcome: 'updated'; readonly row: AccountRow } | { readonly outcome: 'stale' | 'missing' | 'taken' };

/** LIKE's own wildcards (and the escape character) in a literal prefix, escaped with a backslash. */
export const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Account ids are UUIDs. */
const ID_LENGTH = 36;

const COLUMNS = '"id", "email", "emailVerified", "name", "passwordHash", "picture", "disabled", "role", "createdAt", "updatedAt"';
const BY_ID = `SELECT ${COLUMNS} FROM "Account" WHERE "id" = ?`;
const BY_EMAIL = `SELECT ${COLUMNS} FROM "Account" WHERE "email" = ?`;
/**
 * A page of ids whose email starts with a prefix. The LIKE is indexable on
 * both dialects (migration 20261206181000_account_email_prefix): PostgreSQL
 * through a text_pattern_ops index (its plain b-tree follows the database
 * collation, which LIKE cannot use), SQLite through a NOCASE index (its
 * LIKE is case-insensitive; emails are stored lower-case, so the same rows).
 * Prisma's startsWith does not escape % and _ on SQLite, hence raw text.
 */
const PREFIX_PAGE = {
  sqlite: `SELECT "id" FROM "Account" WHERE "email" LIKE ? ESCAPE '\\' AND "id" > ? ORDER BY "id" LIMIT ?`,
  postgres: `SELECT "id" FROM "Account" WHERE "email" LIKE $1 ESCAPE '\\' AND "id" > $2 ORDER BY "id" LIMIT $3`,
} as const;

/**
 * The distinct parameter parts of the stored hashes ("$argon2id$v=19$m=…,t=…,p=…",
 * everything before the salt), cut at the fourth "$" with functions both
 * dialects have (PostgreSQL names SQLite's instr strpos). Only hashes with
 * four "$" at least, so the cut is never negative (PostgreSQL would refuse
 * it); what it yields for another kind of hash is simply not parsed. One
 * pass over the table, read when the decoy hash is made (decoy-hash.ts),
 * never per sign-in.
 */
function parameterSetsSql(dialect: Database['dialect']): string {
  const find = dialect === 'postgres' ? 'strpos' : 'instr';
  return `SELECT DISTINCT substr(h, 1, length(h) - length(rest) + ${find}(rest, '$') - 1) AS "parameters"
    FROM (SELECT h, substr(r2, ${find}(r2, '$') + 1) AS rest
      FROM (SELECT h, substr(r1, ${find}(r1, '$') + 1) AS r2
        FROM (SELECT "passwordHash" AS h, substr("passwordHash", 2) AS r1 FROM "Account" WHERE "passwordHash" LIKE '$%$%$%$%') AS hashes) AS versioned) AS parameterised`;
}

/** A row as the prepared statements hand it over: booleans as 0/1 (SQLite) or true/false, times as text. */
type StoredRow = Omit<AccountRow, 'emailVerified' | 'disabled' | 'createdAt' | 'updatedAt'> & {
  emailVerified: number | boolean;
  disabled: number | boolean;
  createdAt: string;
  updatedAt: string;
};

const fromStored = (row: StoredRow): AccountRow => ({
  ...row,
  emailVerified: Boolean(row.emailVerified),
  disabled: Boolean(row.disabled),
  createdAt: fromStoredTime(row.createdAt)!,
  updatedAt: fromStoredTime(row.updatedAt)!,
});

export function createAccountRepository({ prisma, dialect, statements }: Pick<Database, 'prisma' | 'dialect' | 'statements'>) {
  const parameterSets = parameterSetsSql(dialect);

  /** The row, undefined when there is none, or BUSY when Prisma must answer (no prepared statements, or SQLite locked). */
  async function prepared(sql: string, key: string): Promise<AccountRow | undefined | typeof BUSY> {
    const row = statements ? await statements.get<StoredRow>(sql, key) : BUSY;
    return row === BUSY || row === undefined ? row : fromStored(row);
  }

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

    // Both lookups may get a request's value (an email typed into the login
    // form, a session's subject): one the database cannot take is not found.
    async findById(id: string): Promise<AccountRow | undefined> {
      if (!isDatabaseText(id, ID_LENGTH)) return undefined;
      const row = await prepared(BY_ID, id);
      return row !== BUSY ? row : ((await prisma.account.findUnique({ where: { id } })) ?? undefined);
    },

    async findByEmail(email: string): Promise<AccountRow | undefined> {
      if (!isDatabaseText(email, EMAIL_MAX_LENGTH)) return undefined;
      const row = await prepared(BY_EMAIL, email);
      return row !== BUSY ? row : ((await prisma.account.findUnique({ where: { email } })) ?? undefined);
    },

    /** The parameter part of every distinct kind of stored password hash (see parameterSetsSql). */
    async passwordHashParameterSets(): Promise<string[]> {
      const rows = await prisma.$queryRawUnsafe<{ parameters: string | null }[]>(parameterSets);
      return rows.flatMap((row) => (row.parameters ? [row.parameters] : []));
    },

    /**
     * Marks the address verified, only while it is still the account's
     * address (a link mailed to an old address proves nothing about a new
     * one). True when it did.
     */
    async markEmailVerified(id: string, email: string): Promise<boolean> {
      const { count } = await prisma.account.updateMany({ where: { id, email }, data: { emailVerified: true } });
      return count === 1;
    },

    /**
     * Moves the account to `email`, verified (the caller has just proven it).
     * 'taken' when another account has that address (the unique index
     * decides, also when two changes race).
     */
    async changeEmail(id: string, email: string): Promise<'changed' | 'taken' | 'missing'> {
      try {
        const { count } = await prisma.account.updateMany({ where: { id }, data: { email, emailVerified: true } });
        return count === 1 ? 'changed' : 'missing';
      } catch (error) {
        if (isUniqueViolation(error)) return 'taken';
        throw error;
      }
    },

    /**
     * Ids in ascending order (they are random UUIDs, but stable), so a cursor
     * is the last id seen: rows inserted between pages never shift a page,
     * and none that existed is skipped or repeated.
     */
    async page({ emailPrefix, afterId, limit }: AccountPageQuery): Promise<AccountRow[]> {
      if (!emailPrefix) {
        return prisma.account.findMany({ where: afterId === undefined ? {} : { id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit });
      }
      const ids = await prisma.$queryRawUnsafe<{ id: string }[]>(PREFIX_PAGE[dialect], likePrefix(emailPrefix), afterId ?? '', limit);
      if (ids.length === 0) return [];
      return prisma.account.findMany({ where: { id: { in: ids.map((row) => row.id) } }, orderBy: { id: 'asc' } });
    },

    /**
     * Applies `changes` only while the row's updatedAt is still `expected`
     * (when given): a compare-and-swap in one statement, so of two operators
     * editing from the same version exactly one wins, on any instance.
     * updatedAt always moves forward by at least a millisecond, so the next
     * version differs from this one even within one millisecond.
     */
    async editIfUnchanged(id: string, changes: AccountEdit, expected?: Date): Promise<EditOutcome> {
      const current = await prisma.account.findUnique({ where: { id }, select: { updatedAt: true } });
      if (!current) return { outcome: 'missing' };
      const from = expected ?? current.updatedAt;
      if (from.getTime() !== current.updatedAt.getTime()) return { outcome: 'stale' };
      const updatedAt = new Date(Math.max(Date.now(), from.getTime() + 1));
      try {
        const { count } = await prisma.account.updateMany({ where: { id, updatedAt: from }, data: { ...changes, updatedAt } });
        if (count === 0) return (await prisma.account.findUnique({ where: { id }, select: { id: true } })) ? { outcome: 'stale' } : { outcome: 'missing' };
      } catch (error) {
        if (isUniqueViolation(error)) return { outcome: 'taken' };
        throw error;
      }
      const row = await prisma.account.findUnique({ where: { id } });
      return row ? { outcome: 'updated', row } : { outcome: 'missing' };
    },

    /**
     * True when the row was there. Its upstream identity links go in the same
     * transaction: none is left to sign in to an account that is gone.
     */
    async delete(id: string): Promise<boolean> {
      const [, { count }] = await prisma.$transaction([prisma.federatedIdentity.deleteMany({ where: { accountId: id } }), prisma.account.deleteMany({ where: { id } })]);
      return count === 1;
    },

    /** Resolves to the updated row, or undefined when the account does not exist. */
    async update(id: string, changes: AccountChanges): Promise<AccountRow | undefined> {
      const { count } = await prisma.account.updateMany({ where: { id }, data: changes });
      return count > 0 ? ((await prisma.account.findUnique({ where: { id } })) ?? undefined) : undefined;
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
