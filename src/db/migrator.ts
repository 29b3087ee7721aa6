// Applies the committed SQL migrations under prisma/<dialect>/migrations and
// records them in Prisma's own `_prisma_migrations` ledger, row for row as
// `prisma migrate deploy` writes it, so `prisma migrate status` on a connected
// machine agrees with what Latchkey did offline. Concurrent boots are
// serialised: PostgreSQL by the advisory lock Prisma's engine itself takes,
// SQLite by an immediate write transaction.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import type pg from 'pg';
import type { DatabaseConfig, Dialect } from '../config/config.ts';
import { MigrationError } from '../errors.ts';
import { migrationsDir } from '../paths.ts';
import { prepareSqliteFile } from './sqlite-file.ts';

export interface Migration {
  readonly name: string;
  readonly sql: string;
  /** Lower-case hex SHA-256 of migration.sql, as Prisma computes it. */
  readonly checksum: string;
}

export interface MigrationResult {
  /** Names applied by this call, in order. */
  readonly applied: string[];
  /** All migrations the code knows, in order. */
  readonly known: string[];
}

interface LedgerRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** Prisma's engine takes this advisory lock while migrating; sharing it keeps both from racing. */
export const PRISMA_ADVISORY_LOCK = 72707369;

const PROVIDER_NAME: Record<Dialect, string> = { sqlite: 'sqlite', postgres: 'postgresql' };

export function loadMigrations(dialect: Dialect, dir: string = migrationsDir(dialect)): Migration[] {
  const lock = path.join(dir, 'migration_lock.toml');
  const provider = existsSync(lock) ? lockedProvider(readFileSync(lock, 'utf8')) : undefined;
  if (provider !== PROVIDER_NAME[dialect]) {
    throw new MigrationError(`${lock} is missing or names another provider than ${PROVIDER_NAME[dialect]}`);
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const file = path.join(dir, name, 'migration.sql');
      if (!existsSync(file)) throw new MigrationError(`migration ${name} has no migration.sql`);
      // Hash the bytes on disk, as Prisma does, not a re-encoding of them.
      const bytes = readFileSync(file);
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

/** The `provider = "…"` key of migration_lock.toml; a commented-out line does not count. */
function lockedProvider(toml: string): string | undefined {
  return /^[ \t]*provider[ \t]*=[ \t]*"([^"]*)"[ \t]*(?:#.*)?$/m.exec(toml)?.[1];
}

export async function migrate(config: DatabaseConfig, migrations: Migration[] = loadMigrations(config.dialect)): Promise<MigrationResult> {
  const applied = config.dialect === 'sqlite' ? migrateSqlite(config, migrations) : await migratePostgres(config, migrations);
  return { applied, known: migrations.map((m) => m.name) };
}

/** Names of known migrations not yet applied; empty when the database is current. */
export async function pendingMigrations(config: DatabaseConfig, migrations: Migration[] = loadMigrations(config.dialect)): Promise<string[]> {
  const rows = config.dialect === 'sqlite' ? readSqliteLedger(config) : await readPostgresLedger(config);
  const done = new Set(rows.filter((r) => r.finished_at != null && r.rolled_back_at == null).map((r) => r.migration_name));
  return migrations.filter((m) => !done.has(m.name)).map((m) => m.name);
}

/** Decides what to apply; throws on a history this code cannot safely continue. */
function plan(rows: LedgerRow[], migrations: Migration[], hasOtherTables: boolean, ledgerExists: boolean): Migration[] {
  if (!ledgerExists && hasOtherTables) {
    throw new MigrationError('the database is not empty and has no _prisma_migrations ledger; refusing to migrate it (Prisma error P3005)');
  }
  const live = rows.filter((r) => r.rolled_back_at == null);
  const failed = live.find((r) => r.finished_at == null);
  if (failed) {
    throw new MigrationError(`migration ${failed.migration_name} failed earlier and was not resolved; fix the database and run \`prisma migrate resolve\``);
  }
  const byName = new Map(live.map((r) => [r.migration_name, r]));
  for (const migration of migrations) {
    const row = byName.get(migration.name);
    if (row && row.checksum !== migration.checksum) {
      throw new MigrationError(`migration ${migration.name} was edited after it was applied (checksum differs); migrations are append-only`);
    }
  }
  return migrations.filter((m) => !byName.has(m.name));
}

const SQLITE_LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const SQLITE_BUSY_TIMEOUT_MS = 10_000;

function openSqliteFile(config: DatabaseConfig): Sqlite.Database {
  const file = config.sqlitePath ?? ':memory:';
  // The first boot migrates before anything else has created the data directory.
  prepareSqliteFile(file);
  const db = new Sqlite(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    enableWal(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * WAL lets the CLI write while a server reads; the mode is stored in the file.
 * Switching a fresh file into WAL needs an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once, without waiting out the busy timeout, while another
 * process booting at the same moment holds any lock on the file; so wait and
 * retry here, as long as the busy timeout would have.
 */
function enableWal(db: Sqlite.Database): void {
  const deadline = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      // The migrator is synchronous on SQLite; block briefly instead of spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
}

function migrateSqlite(config: DatabaseConfig, migrations: Migration[]): string[] {
  let db: Sqlite.Database;
  try {
    db = openSqliteFile(config);
  } catch (error) {
    throw wrap(error);
  }
  try {
    registerSqlFunctions(db);
    // BEGIN IMMEDIATE takes the write lock up front, so a second process
    // booting at the same moment waits here and then sees our ledger rows.
    db.exec('BEGIN IMMEDIATE');
    try {
      const ledgerExists = sqliteTableExists(db, '_prisma_migrations');
      const others = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'`).get() as { n: number };
      const rows = ledgerExists ? (db.prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations').all() as LedgerRow[]) : [];
      const todo = plan(rows, migrations, others.n > 0, ledgerExists);
      db.exec(SQLITE_LEDGER);
      const insert = db.prepare('INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)');
      for (const migration of todo) {
        const started = Date.now();
        try {
          db.exec(migration.sql);
        } catch (error) {
          throw wrap(error, migration.name);
        }
        // Prisma's native engine stores SQLite DATETIMEs as Unix milliseconds.
        insert.run(randomUUID(), migration.checksum, Date.now(), migration.name, started);
      }
      db.exec('COMMIT');
      return todo.map((m) => m.name);
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw wrap(error);
    }
  } finally {
    db.close();
  }
}

/**
 * SQL functions migrations may call that PostgreSQL has built in and SQLite
 * lacks. latchkey_sha256_base64url(text) is what PostgreSQL's
 * rtrim(translate(encode(sha256(convert_to(x, 'UTF8')), 'base64'), '+/', '-_'), '=')
 * computes: the artifact key of src/oidc/artifact-key.ts (NULL stays NULL).
 */
function registerSqlFunctions(db: Sqlite.Database): void {
  db.function('latchkey_sha256_base64url', { deterministic: true }, (value: unknown) =>
    value === null ? null : createHash('sha256').update(String(value), 'utf8').digest('base64url'),
  );
}

function readSqliteLedger(config: DatabaseConfig): LedgerRow[] {
  const db = new Sqlite(config.sqlitePath ?? ':memory:', { timeout: 10_000, readonly: false });
  try {
    if (!sqliteTableExists(db, '_prisma_migrations')) return [];
    return db.prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations').all() as LedgerRow[];
  } finally {
    db.close();
  }
}

function sqliteTableExists(db: Sqlite.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

const POSTGRES_LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

async function withPostgres<T>(config: DatabaseConfig, run: (client: pg.Client) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: a SQLite start never needs the PostgreSQL driver.
  const { default: pgDriver } = await import('pg');
  const client = new pgDriver.Client({ connectionString: config.url, connectionTimeoutMillis: 10_000 });
  // An 'error' event without a listener would crash the process on a dropped connection.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw wrap(error);
  }
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function migratePostgres(config: DatabaseConfig, migrations: Migration[]): Promise<string[]> {
  return withPostgres(config, async (client) => {
    // Session-level lock: held across the per-migration transactions and
    // released when we unlock or the connection drops.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      const ledgerExists = (await client.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present`)).rows[0].present as boolean;
      const others = (await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename <> '_prisma_migrations'`)).rows[0].n as number;
      const rows = ledgerExists ? (await client.query<LedgerRow>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations')).rows : [];
      const todo = plan(rows, migrations, others > 0, ledgerExists);
      await client.query(POSTGRES_LEDGER);
      for (const migration of todo) {
        await client.query('BEGIN');
        try {
          // The server's clock for both ends, as Prisma's engine records them;
          // now() would be the transaction's start, before the migration ran.
          const started = (await client.query<{ at: Date }>('SELECT clock_timestamp() AS at')).rows[0]!.at;
          await client.query(migration.sql);
          await client.query(
            'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, $4, 1)',
            [randomUUID(), migration.checksum, migration.name, started],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw wrap(error, migration.name);
        }
      }
      return todo.map((m) => m.name);
    } catch (error) {
      throw wrap(error);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {});
    }
  });
}

async function readPostgresLedger(config: DatabaseConfig): Promise<LedgerRow[]> {
  return withPostgres(config, async (client) => {
    const present = (await client.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present`)).rows[0].present as boolean;
    if (!present) return [];
    return (await client.query<LedgerRow>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations')).rows;
  });
}

function wrap(error: unknown, migration?: string): MigrationError {
  if (error instanceof MigrationError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new MigrationError(migration ? `migration ${migration} failed: ${reason}` : `migrating the database failed: ${reason}`, { cause: error });
}
