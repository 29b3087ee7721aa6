// Opens the Prisma client for the configured dialect through its driver
// adapter. The data layer is typed against the SQLite client; the PostgreSQL
// client has the same models and methods but its own nominal types (their
// `$transaction` isolation levels differ), so it is cast here, once.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { DatabaseConfig, Dialect } from '../config/config.ts';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.ts';
import { PrismaClient as PostgresClient } from './generated/postgres/client.ts';
import { createSqliteReader, type SqliteReader } from './sqlite-reader.ts';

const SQLITE_BUSY_TIMEOUT_MS = 5000;

export type PrismaClient = SqliteClient;
export type * as Models from './generated/sqlite/models.ts';

export interface Database {
  readonly dialect: Dialect;
  readonly prisma: PrismaClient;
  /** SQLite files only: prepared read-only lookups for the hottest paths (sqlite-reader.ts). */
  readonly sqliteReader?: SqliteReader;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL pool size per process. */
  readonly poolSize?: number;
}

export function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Database {
  const prisma = config.dialect === 'sqlite' ? openSqlite(config) : openPostgres(config, options);
  // An in-memory database is private to its connection: a second one would see another, empty database.
  const sqliteReader = config.dialect === 'sqlite' && config.sqlitePath && config.sqlitePath !== ':memory:' ? createSqliteReader(config.sqlitePath, SQLITE_BUSY_TIMEOUT_MS) : undefined;
  return {
    dialect: config.dialect,
    prisma,
    ...(sqliteReader && { sqliteReader }),
    async close() {
      sqliteReader?.close();
      await prisma.$disconnect();
    },
  };
}

function openSqlite(config: DatabaseConfig): PrismaClient {
  const file = config.sqlitePath ?? ':memory:';
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  // `timeout` is better-sqlite3's busy timeout: a CLI writing while the server
  // runs waits for the lock instead of failing with SQLITE_BUSY.
  const adapter = new PrismaBetterSqlite3({ url: file, timeout: SQLITE_BUSY_TIMEOUT_MS });
  return new SqliteClient({ adapter });
}

function openPostgres(config: DatabaseConfig, options: DatabaseOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: config.url,
    max: options.poolSize ?? 10,
    // Fail fast when the database is unreachable instead of queueing forever.
    connectionTimeoutMillis: 3000,
  });
  return new PostgresClient({ adapter }) as unknown as PrismaClient;
}
