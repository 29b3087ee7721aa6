// Database calls for Account rows, and nothing else: the rules live in
// account-service.ts. The two lookups run on every sign-in (several times:
// the login form, the provider's findAccount, the id token's claims) and
// every refresh, so each is one raw statement through Prisma's connection,
// without a model query's compiler work (see oidc/artifact-repository.ts);
// everything else is a model query.
import type { Database, Models } from '../db/database.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { isRecordMissing } from '../db/record-missing.ts';
import { sql } from '../db/sql.ts';
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

/** The unique columns an account is looked up by. */
const BY = { id: sql`"id"`, email: sql`"email"` };

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

export function createAccountRepository({ prisma, dialect }: Pick<Database, 'prisma' | 'dialect'>) {
  const parameterSets = parameterSetsSql(dialect);

  async function findBy(by: keyof typeof BY, value: string): Promise<AccountRow | undefined> {
    const [row] = await prisma.$queryRaw<AccountRow[]>(sql`SELECT * FROM "Account" WHERE ${BY[by]} = ${value}`);
    return row;
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
      return findBy('id', id);
    },

    async findByEmail(email: string): Promise<AccountRow | undefined> {
      if (!isDatabaseText(email, EMAIL_MAX_LENGTH)) return undefined;
      return findBy('email', email);
    },

    /** The parameter part of every distinct kind of stored password hash (see parameterSetsSql). */
    async passwordHashParameterSets(): Promise<string[]> {
      const rows = await prisma.$queryRawUnsafe<{ parameters: string | null }[]>(parameterSets);
      return rows.flatMap((row) => (row.parameters ? [row.parameters] : []));
    },

    /** Resolves to the updated row, or undefined when the account does not exist. */
    async update(id: string, changes: AccountChanges): Promise<AccountRow | undefined> {
      // One statement that returns the row it wrote, where an updateMany had to be followed by a read.
      try {
        return await prisma.account.update({ where: { id }, data: changes });
      } catch (error) {
        if (isRecordMissing(error)) return undefined;
        throw error;
      }
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
