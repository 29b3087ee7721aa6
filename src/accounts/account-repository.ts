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

export type AccountChanges = Partial<Pick<AccountRow, 'passwordHash' | 'disabled' | 'name' | 'emailVerified'>>;

/** Account ids are UUIDs. */
const ID_LENGTH = 36;

const COLUMNS = '"id", "email", "emailVerified", "name", "passwordHash", "disabled", "createdAt", "updatedAt"';
const BY_ID = `SELECT ${COLUMNS} FROM "Account" WHERE "id" = ?`;
const BY_EMAIL = `SELECT ${COLUMNS} FROM "Account" WHERE "email" = ?`;

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

export function createAccountRepository({ prisma, statements }: Pick<Database, 'prisma' | 'statements'>) {
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

    /** Resolves to the updated row, or undefined when the account does not exist. */
    async update(id: string, changes: AccountChanges): Promise<AccountRow | undefined> {
      const { count } = await prisma.account.updateMany({ where: { id }, data: changes });
      return count > 0 ? ((await prisma.account.findUnique({ where: { id } })) ?? undefined) : undefined;
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
