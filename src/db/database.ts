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

export type PrismaClient = SqliteClient;
export type * as Models from './generated/sqlite/models.ts';

export interface Database {
  readonly dialect: Dialect;
  readonly prisma: PrismaClient;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL pool size per process. */
  readonly poolSize?: number;
}

export function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Database {
  const prisma = config.dialect === 'sqlite' ? openSqlite(config) : openPostgres(config, options);
  return {
    dialect: config.dialect,
    prisma,
    close: () => prisma.$disconnect(),
  };
}

function openSqlite(config: DatabaseConfig): PrismaClient {
  const file = config.sqlitePath ?? ':memory:';
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  // `timeout` is better-sqlite3's busy timeout: a CLI writing while the server
  // runs waits for the lock instead of failing with SQLITE_BUSY.
  const adapter = new PrismaBetterSqlite3({ url: file, timeout: 5000 });
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
