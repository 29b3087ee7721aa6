// The statements on the hottest paths (oidc-provider's artifacts, account
// and throttle lookups: about thirty a login, a few a refresh or an
// introspection), run beside Prisma rather than through it, each prepared
// once: sqlite-statements.ts on a SQLite file, postgres-statements.ts on
// PostgreSQL. Through Prisma, each paid its client's per-query work and a
// fresh parse: most of what those requests cost (bench --profile).
//
// The SQL is written once, with "?" markers and double-quoted names, which
// both dialects read alike. Parameters that are Dates are stored as Prisma
// stores them, so Prisma reads what was written here and the other way
// round; DateTime columns come back as ISO 8601 text (fromStoredTime turns
// it into a Date) and booleans as 0/1 or true/false (read them with
// Boolean()).

/** The database could not answer without waiting for a lock (SQLite only): run the statement through Prisma instead. */
export const BUSY = Symbol('database busy');

export interface PreparedStatements {
  /** The first row the statement returns, if any. */
  get<Row>(sql: string, ...params: unknown[]): Promise<Row | undefined | typeof BUSY>;
  /** Every row the statement returns. */
  all<Row>(sql: string, ...params: unknown[]): Promise<Row[] | typeof BUSY>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(sql: string, ...params: unknown[]): Promise<number | typeof BUSY>;
  close(): Promise<void>;
}

/** A DateTime column as these statements hand it over (ISO 8601 text) as a Date. */
export const fromStoredTime = (value: string | null): Date | null => (value === null ? null : new Date(value));

/** PostgreSQL numbers its parameters ($1, $2, …) where the shared SQL has "?". */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
