// A fresh, migrated database for one test file: a temporary SQLite file by
// default, or a new PostgreSQL database on the server DATABASE_URL points at
// (CI runs the whole suite once per dialect). Real databases, never mocks.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type DatabaseConfig } from '../../src/config/config.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrator.ts';

export interface TestDatabase {
  /** The DATABASE_URL a Latchkey process would be given for this database. */
  readonly url: string;
  readonly config: DatabaseConfig;
  /** Closed by drop(). Connects on first query. */
  readonly db: Database;
  drop(): Promise<void>;
}

export const testDialect = (): 'sqlite' | 'postgres' =>
  /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? 'postgres' : 'sqlite';

/** Creates an empty database (migrated unless `migrated: false`). */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const created = testDialect() === 'postgres' ? await createPostgres() : createSqlite();
  const config = loadConfig({ DATABASE_URL: created.url }).database;
  if (options.migrated !== false) await migrate(config);
  const db = await openDatabase(config, { poolSize: 4 });
  return {
    url: created.url,
    config,
    db,
    async drop() {
      await db.close();
      await created.remove();
    },
  };
}

function createSqlite() {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-test-'));
  return {
    url: `file:${path.join(dir, 'latchkey.db')}`,
    remove: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function createPostgres() {
  const server = new URL(process.env.DATABASE_URL!);
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const adminUrl = new URL(server);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.href });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    remove: async () => {
      const client = new pg.Client({ connectionString: adminUrl.href });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
