// The hot statements (prepared-statements.ts) on a SQLite file: a second
// connection, each statement prepared once. Prisma's SQLite adapter prepares
// every statement anew on every call (better-sqlite3's prepare is SQLite's
// compile step): ~2 ms of a login's CPU.
//
// This connection never waits for a lock. better-sqlite3 is synchronous, so
// a busy wait here would block the event loop, and with it the very Prisma
// transaction (a key rotation, say) that holds the lock: a deadlock until
// the timeout. So the busy timeout is zero, and when the database is locked
// a call answers BUSY instead; the caller then runs the same statement
// through Prisma, which waits its turn without blocking anything. In WAL
// mode that happens only to writes, and only while another connection (a
// Prisma transaction, or a CLI in another process) is writing: rarely and
// briefly.
//
// Every statement here is a single statement in autocommit: it is committed
// when the call returns, visible at once to this connection, to Prisma's and
// to every other process. A write that went to Prisma instead may have
// joined the transaction open there (Prisma's adapter has one connection),
// and is invisible here until it commits: so after one, reads answer BUSY
// too, and go to Prisma, until this connection could take the write lock
// again (the transaction has ended). Each caller thus reads what it wrote.
import Sqlite from 'better-sqlite3';
import { isoTime } from '../iso-time.ts';
import { BUSY, type PreparedStatements } from './prepared-statements.ts';

/** How Prisma's SQLite adapter writes a DateTime (ISO 8601, "+00:00"): values written here must compare and read back alike. */
export const sqliteTime = (date: Date) => `${isoTime(date.getTime()).slice(0, -1)}+00:00`;

function bindable(params: unknown[]): unknown[] {
  for (let i = 0; i < params.length; i++) if (params[i] instanceof Date) params[i] = sqliteTime(params[i] as Date);
  return params;
}

export function createSqliteStatements(file: string, { cacheKib }: { readonly cacheKib: number }): PreparedStatements {
  let db: Sqlite.Database | undefined;
  const statements = new Map<string, Sqlite.Statement>();
  /** A write went to Prisma and may not be committed yet. */
  let writesOnPrisma = false;

  function statement(sql: string): Sqlite.Statement {
    let prepared = statements.get(sql);
    if (!prepared) {
      // Opened on first use: the file exists by then (migrations run before anything is served).
      if (!db) {
        db = new Sqlite(file, { fileMustExist: true, timeout: 0 });
        // As on Prisma's connection: the schema's foreign keys hold for writes made here too.
        db.pragma('foreign_keys = ON');
        db.pragma(`cache_size = -${cacheKib}`);
      }
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  }

  function unlessBusy<T>(work: () => T): T | typeof BUSY {
    try {
      return work();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return BUSY;
      throw error;
    }
  }

  /** Whether the write lock is free now, i.e. whatever went to Prisma has been committed or rolled back. */
  function lockFree(): boolean {
    const free = unlessBusy(() => statement('BEGIN IMMEDIATE').run()) !== BUSY;
    if (free) statement('ROLLBACK').run();
    return free;
  }

  /** Whether a read here would see everything written so far (see the top of this file). */
  function readable(): boolean {
    if (writesOnPrisma && lockFree()) writesOnPrisma = false;
    return !writesOnPrisma;
  }

  // Synchronous underneath; promises only to share the interface with PostgreSQL's.
  return {
    get: async <Row>(sql: string, ...params: unknown[]) => (readable() ? unlessBusy(() => statement(sql).get(...bindable(params)) as Row | undefined) : BUSY),
    all: async <Row>(sql: string, ...params: unknown[]) => (readable() ? unlessBusy(() => statement(sql).all(...bindable(params)) as Row[]) : BUSY),
    async run(sql: string, ...params: unknown[]) {
      const changes = unlessBusy(() => statement(sql).run(...bindable(params)).changes);
      // Taking the lock here means whatever went to Prisma has ended.
      writesOnPrisma = changes === BUSY;
      return changes;
    },
    async close() {
      statements.clear();
      db?.close();
      db = undefined;
    },
  };
}
