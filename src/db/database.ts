// Opens the Prisma client for the configured dialect through its driver
// adapter. The data layer is typed against the SQLite client; the PostgreSQL
// client has the same models and methods but its own nominal types (their
// `$transaction` isolation levels differ), so it is cast here, once.
import type { DatabaseConfig, Dialect } from '../config/config.ts';
import type { PrismaClient as SqliteClient } from './generated/sqlite/client.ts';
import type { PreparedStatements } from './prepared-statements.ts';
import { prepareSqliteFile } from './sqlite-file.ts';
import { createSqliteStatements } from './sqlite-statements.ts';

const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * SQLite's page cache per connection, in KiB (`PRAGMA cache_size = -N`).
 * better-sqlite3 is built with a 16 MiB default, and the server has two
 * connections (Prisma's and the prepared statements'): as audit rows are
 * appended, both caches fill with pages that are written once and never read
 * again, and the process grew by ~30 MB under load (bench: RSS after load).
 * What is read often (clients and keys are held in process; artifacts,
 * throttle counters and the right edge of the audit indexes) fits in a few
 * MiB, and the operating system's file cache holds the rest.
 */
export const SQLITE_CACHE_KIB = 4096;

export type PrismaClient = SqliteClient;
export type * as Models from './generated/sqlite/models.ts';

export interface Database {
  readonly dialect: Dialect;
  readonly prisma: PrismaClient;
  /** The hottest paths' statements, prepared once (prepared-statements.ts); none for an in-memory SQLite database. */
  readonly statements?: PreparedStatements;
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
  const opened = config.dialect === 'sqlite' ? await openSqlite(config) : await openPostgres(config, options);
  let closed: Promise<void> | undefined;
  return {
    dialect: config.dialect,
    prisma: opened.prisma,
    ...(opened.statements && { statements: opened.statements }),
    // Once, however many times it is called (a pool cannot be ended twice).
    close: () =>
      (closed ??= (async () => {
        await opened.statements?.close();
        await opened.prisma.$disconnect();
        await opened.pool?.end();
      })()),
  };
}

interface Opened {
  readonly prisma: PrismaClient;
  readonly statements?: PreparedStatements;
  /** PostgreSQL's pool, shared by Prisma and the statements, ended last. */
  readonly pool?: { end(): Promise<void> };
}

async function openSqlite(config: DatabaseConfig): Promise<Opened> {
  const [{ PrismaBetterSqlite3 }, { PrismaClient: SqliteClient }] = await Promise.all([
    import('@prisma/adapter-better-sqlite3'),
    import('./generated/sqlite/client.ts'),
  ]);
  const file = config.sqlitePath ?? ':memory:';
  prepareSqliteFile(file);
  // `timeout` is better-sqlite3's busy timeout: a CLI writing while the server
  // runs waits for the lock instead of failing with SQLITE_BUSY.
  const adapter = new PrismaBetterSqlite3({ url: file, timeout: SQLITE_BUSY_TIMEOUT_MS });
  // An in-memory database is private to its connection: a second one would see another, empty database.
  const statements = file !== ':memory:' ? createSqliteStatements(file, { cacheKib: SQLITE_CACHE_KIB }) : undefined;
  const prisma = new SqliteClient({ adapter });
  // The adapter holds a single connection, so this applies to every query Prisma runs.
  await prisma.$executeRawUnsafe(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
  return { prisma, ...(statements && { statements }) };
}

async function openPostgres(config: DatabaseConfig, options: DatabaseOptions): Promise<Opened> {
  const [{ default: pg }, { PrismaPg }, { PrismaClient: PostgresClient }, { createPostgresStatements }] = await Promise.all([
    import('pg'),
    import('@prisma/adapter-pg'),
    import('./generated/postgres/client.ts'),
    import('./postgres-statements.ts'),
  ]);
  const pool = new pg.Pool({
    connectionString: config.url,
    max: options.poolSize ?? 10,
    // Fail fast when the database is unreachable instead of queueing forever.
    connectionTimeoutMillis: 3000,
  });
  // An idle connection the server dropped (a restart) is reported here; without
  // a listener it would crash the process. The next query reconnects or fails
  // as database-unavailable.
  pool.on('error', () => {});
  const prisma = new PostgresClient({ adapter: new PrismaPg(pool) }) as unknown as PrismaClient;
  return { prisma, statements: createPostgresStatements(pool, pg.types), pool };
}
