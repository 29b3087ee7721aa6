// The boot-time migrator against a real database of the dialect under test
// (SQLite by default, PostgreSQL when DATABASE_URL points at a server): it
// writes Prisma's ledger row for row, applies nothing twice, serialises
// concurrent boots, refuses histories it cannot continue, and Prisma's own
// schema engine agrees with what it wrote.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type DatabaseConfig, type Dialect } from '../../src/config/config.ts';
import { MigrationError } from '../../src/errors.ts';
import { loadMigrations, migrate, PRISMA_ADVISORY_LOCK, type Migration } from '../../src/db/migrator.ts';
import { migrationsDir, packageRoot } from '../../src/paths.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const dialect = testDialect();

/** The committed migrations, read here independently of the migrator. */
function committedMigrations(d: Dialect = dialect): { name: string; checksum: string }[] {
  const dir = migrationsDir(d);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({ name, checksum: createHash('sha256').update(readFileSync(path.join(dir, name, 'migration.sql'))).digest('hex') }));
}

// Raw access for arranging and inspecting states the application never
// produces itself (a failed ledger row, a stray table), with each dialect's
// own driver so nothing of the migrator is reused to check the migrator.
interface Raw {
  query(sql: string): Promise<Record<string, unknown>[]>;
  exec(sql: string): Promise<void>;
  tables(): Promise<string[]>;
  close(): Promise<void>;
}

async function openRaw(config: DatabaseConfig): Promise<Raw> {
  if (config.dialect === 'sqlite') {
    const db = new Sqlite(config.sqlitePath!);
    return {
      query: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
      exec: async (sql) => void db.exec(sql),
      tables: async () =>
        (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name),
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  return {
    query: async (sql) => (await client.query(sql)).rows,
    exec: async (sql) => void (await client.query(sql)),
    tables: async () =>
      (await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename COLLATE "C"`)).rows.map((r) => r.name),
    close: () => client.end(),
  };
}

interface LedgerRow {
  id: string;
  checksum: string;
  migration_name: string;
  logs: string | null;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

/** The ledger as Prisma reads it; SQLite DATETIMEs are the native engine's Unix milliseconds. */
async function readLedger(raw: Raw): Promise<LedgerRow[]> {
  if (!(await raw.tables()).includes('_prisma_migrations')) return [];
  const rows = await raw.query('SELECT * FROM _prisma_migrations ORDER BY migration_name, started_at');
  const time = (value: unknown) => (value == null ? null : value instanceof Date ? value : new Date(value as number));
  return rows.map((r) => ({
    id: r.id as string,
    checksum: r.checksum as string,
    migration_name: r.migration_name as string,
    logs: r.logs as string | null,
    started_at: time(r.started_at)!,
    finished_at: time(r.finished_at),
    rolled_back_at: time(r.rolled_back_at),
    applied_steps_count: Number(r.applied_steps_count),
  }));
}

const opened: { database: TestDatabase; raw: Raw }[] = [];
const children: ReturnType<typeof spawn>[] = [];

async function freshDatabase(options: { migrated: boolean }): Promise<{ database: TestDatabase; raw: Raw }> {
  const database = await createTestDatabase(options);
  const entry = { database, raw: await openRaw(database.config) };
  opened.push(entry);
  return entry;
}

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
  for (const { database, raw } of opened.splice(0)) {
    await raw.close();
    await database.drop();
  }
});

interface Boot {
  readonly events: { event: string; pid: number; applied?: string[] }[];
  readonly exited: Promise<{ code: number | null; stderr: string }>;
}

/** Starts test/helpers/run-migrate.ts in a process of its own against `url`. */
function boot(url: string, at?: number): Boot {
  const args = ['--import', 'tsx', 'test/helpers/run-migrate.ts', ...(at === undefined ? [] : ['--at', String(at)])];
  const child = spawn(process.execPath, args, { cwd: packageRoot, env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const events: Boot['events'] = [];
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { events, exited };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every process exited 0, and each migration was applied by exactly one of them. */
async function expectOneApplierPerMigration(boots: Boot[], raw: Raw): Promise<void> {
  const exits = await Promise.all(boots.map((b) => b.exited));
  expect(exits).toEqual(boots.map(() => ({ code: 0, stderr: '' })));
  const applied = boots.flatMap((b) => b.events.filter((e) => e.event === 'migrated').flatMap((e) => e.applied!));
  const names = committedMigrations().map((m) => m.name);
  expect(applied.sort()).toEqual(names);
  expect((await readLedger(raw)).map((r) => r.migration_name)).toEqual(names);
}

describe('migrate', () => {
  it('applies every migration to a fresh database and records each as Prisma does', async () => {
    const { database, raw } = await freshDatabase({ migrated: false });
    // Whole seconds: SQLite stores Unix milliseconds, PostgreSQL microseconds.
    const before = Math.floor(Date.now() / 1000) * 1000;

    const result = await migrate(database.config);

    const committed = committedMigrations();
    expect(committed.length).toBeGreaterThan(0);
    expect(result).toEqual({ applied: committed.map((m) => m.name), known: committed.map((m) => m.name) });
    const ledger = await readLedger(raw);
    expect(ledger.map((r) => ({ name: r.migration_name, checksum: r.checksum }))).toEqual(committed);
    for (const row of ledger) {
      expect(row.id).toMatch(UUID_V4);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.started_at.getTime()).toBeGreaterThanOrEqual(before);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.finished_at!.getTime()).toBeLessThanOrEqual(Date.now());
    }
    expect(new Set(ledger.map((r) => r.id)).size).toBe(ledger.length);
    expect(await raw.tables()).toEqual(
      expect.arrayContaining(['Account', 'ApiResource', 'Client', 'CookieKey', 'OidcArtifact', 'SigningKey', '_prisma_migrations']),
    );
  });

  it('applies nothing and changes no ledger row when the database is current', async () => {
    const { database, raw } = await freshDatabase({ migrated: true });
    const ledger = await readLedger(raw);
    expect(ledger).toHaveLength(committedMigrations().length);

    const result = await migrate(database.config);

    expect(result.applied).toEqual([]);
    expect(await readLedger(raw)).toEqual(ledger);
  });

  it('applies only the migrations added since the last boot, timing each from start to finish', async () => {
    const { database, raw } = await freshDatabase({ migrated: true });
    const ledger = await readLedger(raw);
    // A migration that takes a while, so finished_at must trail started_at.
    const slow = dialect === 'postgres' ? 'SELECT pg_sleep(0.3);' : SQLITE_SLOW_SQL;
    // Half the statement's fastest of three runs here: a run slowed by other work on the machine must not set the bar.
    const minimumMs = dialect === 'postgres' ? 300 : Math.min(...[0, 1, 2].map(() => timeSqlite(SQLITE_SLOW_SQL))) / 2;
    const added = migration('29991231235959_add_probe', `CREATE TABLE "Probe" ("id" INTEGER NOT NULL PRIMARY KEY);\n${slow}\n`);

    const result = await migrate(database.config, [...loadMigrations(dialect), added]);

    expect(result.applied).toEqual([added.name]);
    const after = await readLedger(raw);
    expect(after.slice(0, ledger.length)).toEqual(ledger);
    expect(after.slice(ledger.length)).toMatchObject([{ migration_name: added.name, checksum: added.checksum, applied_steps_count: 1, rolled_back_at: null }]);
    const row = after.at(-1)!;
    expect(row.finished_at!.getTime() - row.started_at.getTime()).toBeGreaterThanOrEqual(minimumMs);
    expect(await raw.tables()).toContain('Probe');
  });

  it('lets exactly one of several processes booting at the same moment apply each migration', async () => {
    const { database, raw } = await freshDatabase({ migrated: false });
    // Far enough ahead that every process has loaded its modules by then.
    const at = Date.now() + 3000;
    const boots = Array.from({ length: 4 }, () => boot(database.url, at));

    await expectOneApplierPerMigration(boots, raw);
  });

  it('makes processes that boot while the migration lock is held wait for it', async () => {
    const { database, raw } = await freshDatabase({ migrated: false });
    // Hold the very lock the migrator takes: PostgreSQL's advisory lock (the
    // one Prisma's engine takes too), or SQLite's write lock.
    let release: () => Promise<void>;
    if (dialect === 'postgres') {
      const holder = new pg.Client({ connectionString: database.url });
      await holder.connect();
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
      release = () => holder.end();
    } else {
      // Left in the journal mode a new file has, so the waiting processes
      // also meet SQLite's refusal to switch a locked file into WAL.
      const holder = new Sqlite(database.config.sqlitePath!);
      holder.exec('BEGIN IMMEDIATE');
      release = async () => {
        holder.exec('COMMIT');
        holder.close();
      };
    }
    const boots = Array.from({ length: 3 }, () => boot(database.url));
    const waiting =
      dialect === 'postgres'
        ? async () =>
            (
              await raw.query(
                `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = ${PRISMA_ADVISORY_LOCK} AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
              )
            )[0]!.n === boots.length
        : // SQLite shows no waiters; a process that says it is migrating and
          // has not finished half a second later (migrating takes milliseconds)
          // is blocked on the lock.
          async () => boots.every((b) => b.events.some((e) => e.event === 'migrating'));

    await waitFor(waiting, 'three processes waiting for the migration lock');
    await sleep(500);
    expect(boots.map((b) => b.events.map((e) => e.event))).toEqual(boots.map(() => ['migrating']));
    await release();

    await expectOneApplierPerMigration(boots, raw);
  });

  interface Refusal {
    readonly name: string;
    readonly migrated: boolean;
    /** Brings the database into the state to refuse. */
    arrange(raw: Raw): Promise<void>;
    /** The migrations the booting code knows; the committed ones unless given. */
    migrations?(): Migration[];
    readonly message: string;
    /** What must (still) be true afterwards: nothing half-applied. */
    check(raw: Raw): Promise<void>;
  }

  const refusals: Refusal[] = [
    {
      name: 'a migration that failed earlier and was never resolved',
      migrated: true,
      arrange: (raw) => raw.exec('UPDATE _prisma_migrations SET finished_at = NULL, rolled_back_at = NULL'),
      message: 'failed earlier and was not resolved',
      check: async (raw) => expect((await readLedger(raw)).every((r) => r.finished_at === null)).toBe(true),
    },
    {
      name: 'an applied migration whose SQL was edited since',
      migrated: true,
      arrange: async () => {},
      migrations: () => loadMigrations(dialect).map((m, i) => (i === 0 ? migration(m.name, `${m.sql}\n-- edited after it was applied\n`) : m)),
      message: 'was edited after it was applied (checksum differs)',
      check: async (raw) => expect((await readLedger(raw)).map((r) => r.checksum)).toEqual(committedMigrations().map((m) => m.checksum)),
    },
    {
      name: 'a database with tables but no ledger',
      migrated: false,
      arrange: (raw) => raw.exec('CREATE TABLE "Stray" ("id" INTEGER NOT NULL PRIMARY KEY)'),
      message: 'not empty and has no _prisma_migrations ledger',
      check: async (raw) => expect(await raw.tables()).toEqual(['Stray']),
    },
    {
      name: 'a migration whose SQL fails',
      migrated: false,
      arrange: async () => {},
      migrations: () => [
        ...loadMigrations(dialect),
        migration('29991231235959_broken', 'CREATE TABLE "Half" ("id" INTEGER NOT NULL);\nINSERT INTO "Half" ("id") VALUES (1);\nINSERT INTO "Missing" ("id") VALUES (1);'),
      ],
      message: 'migration 29991231235959_broken failed',
      check: async (raw) => {
        if (dialect === 'postgres') {
          // Each migration is its own transaction: the good ones stay applied,
          // the broken one left neither tables nor a ledger row behind.
          expect((await readLedger(raw)).map((r) => r.migration_name)).toEqual(committedMigrations().map((m) => m.name));
          expect(await raw.tables()).not.toContain('Half');
        } else {
          // One transaction for the whole batch: the file is as empty as before.
          expect(await raw.tables()).toEqual([]);
        }
      },
    },
  ];

  it('refuses a history it cannot safely continue, and changes nothing', async () => {
    for (const refusal of refusals) {
      const { database, raw } = await freshDatabase({ migrated: refusal.migrated });
      await refusal.arrange(raw);
      const error = await migrate(database.config, refusal.migrations?.() ?? loadMigrations(dialect)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, refusal.name).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).code, refusal.name).toBe('migration_failed');
      expect((error as MigrationError).message, refusal.name).toContain(refusal.message);
      await refusal.check(raw);
    }
  });
});

describe('migrate on SQLite', () => {
  it('creates the directory of a database file that does not exist yet (the first boot)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-migrator-'));
    try {
      const config = loadConfig({ DATABASE_URL: `file:${path.join(dir, 'data', 'nested', 'latchkey.db')}` }).database;
      const result = await migrate(config);
      expect(result.applied).toEqual(committedMigrations('sqlite').map((m) => m.name));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loadMigrations', () => {
  it('reads the committed migrations of each dialect in name order, checksummed as Prisma does', () => {
    for (const d of ['sqlite', 'postgres'] as const) {
      expect(loadMigrations(d).map((m) => ({ name: m.name, checksum: m.checksum }))).toEqual(committedMigrations(d));
    }
  });

  const LOCK_HEADER = '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\n';
  const cases: { name: string; dialect: Dialect; lock: string | null; dirs?: Record<string, string | null>; message: string }[] = [
    { name: 'a PostgreSQL lock file read for SQLite', dialect: 'sqlite', lock: 'provider = "postgresql"', message: 'names another provider than sqlite' },
    { name: 'a SQLite lock file read for PostgreSQL', dialect: 'postgres', lock: 'provider = "sqlite"', message: 'names another provider than postgresql' },
    { name: 'no lock file', dialect: 'sqlite', lock: null, message: 'is missing or names another provider' },
    { name: 'the right provider only in a comment', dialect: 'sqlite', lock: '# provider = "sqlite"\nprovider = "postgresql"', message: 'names another provider than sqlite' },
    { name: 'a lock file without a provider', dialect: 'postgres', lock: '', message: 'names another provider than postgresql' },
    { name: 'a migration directory without migration.sql', dialect: 'sqlite', lock: 'provider = "sqlite"', dirs: { '20260101000000_init': 'SELECT 1;', '20260102000000_empty': null }, message: 'migration 20260102000000_empty has no migration.sql' },
  ];

  it('refuses a migrations directory that is not for its dialect or is incomplete', () => {
    for (const c of cases) {
      const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-migrations-'));
      try {
        if (c.lock !== null) writeFileSync(path.join(dir, 'migration_lock.toml'), `${LOCK_HEADER}${c.lock}\n`);
        for (const [name, sql] of Object.entries(c.dirs ?? { '20260101000000_init': 'SELECT 1;' })) {
          mkdirSync(path.join(dir, name));
          if (sql !== null) writeFileSync(path.join(dir, name, 'migration.sql'), sql);
        }
        let error: unknown;
        try {
          loadMigrations(c.dialect, dir);
        } catch (e) {
          error = e;
        }
        expect(error, c.name).toBeInstanceOf(MigrationError);
        expect((error as MigrationError).code, c.name).toBe('migration_failed');
        expect((error as MigrationError).message, c.name).toContain(c.message);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('accepts a lock file for its own provider however it is spaced', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-migrations-'));
    try {
      writeFileSync(path.join(dir, 'migration_lock.toml'), `${LOCK_HEADER}provider="postgresql"   # generated\n`);
      for (const name of ['20260102000000_second', '20260101000000_first']) {
        mkdirSync(path.join(dir, name));
        writeFileSync(path.join(dir, name, 'migration.sql'), `-- ${name}\n`);
      }
      expect(loadMigrations('postgres', dir)).toEqual([migration('20260101000000_first', '-- 20260101000000_first\n'), migration('20260102000000_second', '-- 20260102000000_second\n')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface StatusReport {
  dialect: Dialect;
  migrations: string[];
  diagnosis: { editedMigrationNames: string[]; failedMigrationNames: string[]; hasMigrationsTable: boolean; history: unknown };
  applied?: string[];
  clean: boolean;
}

/** Runs scripts/migration-status.mjs: Prisma's own engine judging our ledger. */
async function migrationStatus(url: string, ...args: string[]): Promise<{ code: number; report: StatusReport }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/migration-status.mjs', url, ...args], { cwd: packageRoot, timeout: 20_000 });
    return { code: 0, report: JSON.parse(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (failed.code !== 1) throw new Error(`migration-status exited ${failed.code}: ${failed.stderr}`);
    return { code: 1, report: JSON.parse(failed.stdout!) };
  }
}

describe("Prisma's schema engine on a database our migrator migrated", () => {
  it('finds a clean history and nothing left to apply', async () => {
    const { database, raw } = await freshDatabase({ migrated: true });
    const ledger = await readLedger(raw);
    const names = committedMigrations().map((m) => m.name);

    const { code, report } = await migrationStatus(database.url, '--apply');

    expect(code).toBe(0);
    expect(report).toMatchObject({
      dialect,
      migrations: names,
      diagnosis: { editedMigrationNames: [], failedMigrationNames: [], hasMigrationsTable: true, history: null },
      applied: [],
      clean: true,
    });
    expect(await readLedger(raw)).toEqual(ledger);
  });

  // The same check must fail when the ledger is wrong, or the one above proves nothing.
  const damages: { name: string; sql: string; diagnosis: (names: string[]) => Partial<StatusReport['diagnosis']> }[] = [
    { name: 'an edited checksum', sql: `UPDATE _prisma_migrations SET checksum = '${'0'.repeat(64)}'`, diagnosis: (names) => ({ editedMigrationNames: names }) },
    { name: 'an unfinished row', sql: 'UPDATE _prisma_migrations SET finished_at = NULL', diagnosis: (names) => ({ failedMigrationNames: names }) },
    { name: 'a missing row', sql: 'DELETE FROM _prisma_migrations', diagnosis: (names) => ({ history: { diagnostic: 'databaseIsBehind', unappliedMigrationNames: names } }) },
  ];

  it('reports a ledger that does not match the committed migrations', async () => {
    const names = committedMigrations().map((m) => m.name);
    for (const damage of damages) {
      const { database, raw } = await freshDatabase({ migrated: true });
      await raw.exec(damage.sql);

      const { code, report } = await migrationStatus(database.url);

      expect(code, damage.name).toBe(1);
      expect(report, damage.name).toMatchObject({ clean: false, diagnosis: damage.diagnosis(names) });
    }
  });
});

// SQLite has no sleep: count through a few million rows instead.
const SQLITE_SLOW_SQL = 'CREATE TABLE "Counted" AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) AS n FROM c;';

function timeSqlite(sql: string): number {
  const db = new Sqlite(':memory:');
  try {
    const started = performance.now();
    db.exec(sql);
    return performance.now() - started;
  } finally {
    db.close();
  }
}

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}
