// Opens the Prisma client for the configured dialect through its driver
// adapter. The data layer is typed against the SQLite client; the PostgreSQL
// client has the same models and methods but its own nominal types (their
// `$transaction` isolation levels differ), so it is cast here, once.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseConfig, Dialect } from '../config/config.ts';
import type { PrismaClient as SqliteClient } from './generated/sqlite/client.ts';
import { createSqliteStatements, type SqliteStatements } from './sqlite-statements.ts';

const SQLITE_BUSY_TIMEOUT_MS = 5000;

export type PrismaClient = SqliteClient;
export type * as Models from './generated/sqlite/models.ts';

export interface Database {
  readonly dialect: Dialect;
  readonly prisma: PrismaClient;
  /** SQLite files only: statements prepared once for the hottest paths (sqlite-statements.ts). */
  readonly sqliteStatements?: SqliteStatements;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL pool size per process. */
  readonly poolSize?: number;
}

/**
 * Loads only the chosen dialect's generated client and driver: the other
 * dialect's modules (pg and its adapter, for SQLite) would add a tenth of a
 * second to every start for code that never runs.
 */
export async function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Promise<Database> {
  const prisma = config.dialect === 'sqlite' ? await openSqlite(config) : await openPostgres(config, options);
  // An in-memory database is private to its connection: a second one would see another, empty database.
  const sqliteStatements = config.dialect === 'sqlite' && config.sqlitePath && config.sqlitePath !== ':memory:' ? createSqliteStatements(config.sqlitePath) : undefined;
  return {
    dialect: config.dialect,
    prisma,
    ...(sqliteStatements && { sqliteStatements }),
    async close() {
      sqliteStatements?.close();
      await prisma.$disconnect();
    },
  };
}

async function openSqlite(config: DatabaseConfig): Promise<PrismaClient> {
  const [{ PrismaBetterSqlite3 }, { PrismaClient: SqliteClient }] = await Promise.all([
    import('@prisma/adapter-better-sqlite3'),
    import('./generated/sqlite/client.ts'),
  ]);
  const file = config.sqlitePath ?? ':memory:';
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  // `timeout` is better-sqlite3's busy timeout: a CLI writing while the server
  // runs waits for the lock instead of failing with SQLITE_BUSY.
  const adapter = new PrismaBetterSqlite3({ url: file, timeout: SQLITE_BUSY_TIMEOUT_MS });
  return new SqliteClient({ adapter });
}

async function openPostgres(config: DatabaseConfig, options: DatabaseOptions): Promise<PrismaClient> {
  const [{ PrismaPg }, { PrismaClient: PostgresClient }] = await Promise.all([import('@prisma/adapter-pg'), import('./generated/postgres/client.ts')]);
  const adapter = new PrismaPg({
    connectionString: config.url,
    max: options.poolSize ?? 10,
    // Fail fast when the database is unreachable instead of queueing forever.
    connectionTimeoutMillis: 3000,
  });
  return new PostgresClient({ adapter }) as unknown as PrismaClient;
}
