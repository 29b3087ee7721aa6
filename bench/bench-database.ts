// A database of its own for one bench run: a SQLite file in a temporary
// directory, or a fresh database on the PostgreSQL server DATABASE_URL names
// (created here, dropped at the end, so a run never touches real data).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { cpuSeconds } from './process-stats.ts';

export interface BenchDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** The DATABASE_URL Latchkey is started with. */
  readonly url: string;
  /** PostgreSQL: CPU seconds used so far by each server process connected to this database. */
  backendCpu?(): Promise<Map<number, number>>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string | undefined, workDir: string): Promise<BenchDatabase> {
  if (!serverUrl || !/^postgres(ql)?:\/\//.test(serverUrl)) {
    const dir = mkdtempSync(path.join(workDir, 'sqlite-'));
    return {
      dialect: 'sqlite',
      url: `file:${path.join(dir, 'latchkey.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `latchkey_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  await adminQuery(admin.href, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    dialect: 'postgres',
    url: url.href,
    // The database's own work happens in PostgreSQL's processes, not in
    // Latchkey's: counted separately, so CPU per request stays honest.
    async backendCpu() {
      const client = new pg.Client({ connectionString: admin.href });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
        const cpu = new Map<number, number>();
        for (const { pid } of rows) {
          try {
            cpu.set(pid, cpuSeconds(pid));
          } catch {
            // Gone between the query and the read, or not on this machine.
          }
        }
        return cpu;
      } finally {
        await client.end();
      }
    },
    drop: () => adminQuery(admin.href, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

