// A second, read-only connection to the SQLite file for the hottest lookups
// (oidc-provider's artifacts), with each statement prepared once.
//
// Prisma's SQLite adapter prepares every statement anew on every call
// (better-sqlite3's prepare is SQLite's compile step): with its own
// per-query work that was most of what an introspection or a refresh cost
// (bench --profile). A prepared statement on this connection runs the same
// lookup for a fraction of that.
//
// Reads only, on purpose: in WAL mode a reader never waits for a writer, so
// this synchronous connection can never block the event loop behind a
// transaction Prisma holds open on its own connection. It sees what has been
// committed. The artifact store's writes are single statements, outside any
// transaction; but Prisma's adapter runs every query on one connection, so a
// write made while one of the server's own transactions is open (a key
// rotation, a few milliseconds, rarely) commits with it, and this connection
// sees it a few milliseconds later than Prisma's would.
import Sqlite from 'better-sqlite3';

export interface SqliteReader {
  /** The first row the statement returns, if any. */
  get<Row>(sql: string, ...params: unknown[]): Row | undefined;
  close(): void;
}

export function createSqliteReader(file: string, busyTimeoutMs: number): SqliteReader {
  let db: Sqlite.Database | undefined;
  const statements = new Map<string, Sqlite.Statement>();

  function statement(sql: string): Sqlite.Statement {
    let prepared = statements.get(sql);
    if (!prepared) {
      // Opened on first use: the file exists by then (migrations run before anything is served).
      db ??= new Sqlite(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  }

  return {
    get: <Row>(sql: string, ...params: unknown[]) => statement(sql).get(...params) as Row | undefined,
    close() {
      statements.clear();
      db?.close();
      db = undefined;
    },
  };
}
