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
  readonly passwordHash: string;
}

export type AccountChanges = Partial<Pick<AccountRow, 'passwordHash' | 'disabled' | 'name' | 'emailVerified' | 'role'>>;

/** Account ids are UUIDs. */
const ID_LENGTH = 36;

const COLUMNS = '"id", "email", "emailVerified", "name", "passwordHash", "disabled", "role", "createdAt", "updatedAt"';
const BY_ID = `SELECT ${COLUMNS} FROM "Account" WHERE "id" = ?`;
const BY_EMAIL = `SELECT ${COLUMNS} FROM "Account" WHERE "email" = ?`;

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

    /** True when the row was there. */
    async delete(id: string): Promise<boolean> {
      const { count } = await prisma.account.deleteMany({ where: { id } });
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
