// The hot statements (prepared-statements.ts) on PostgreSQL: run on the
// same pg pool Prisma uses, as named statements, which each connection
// parses and plans once and then only executes. Through Prisma's raw API
// each cost its client's per-query work plus a fresh parse on the server.
//
// Prisma reads and writes DateTime columns (timestamp(3), no time zone) as
// UTC wall-clock time whatever the process's time zone; pg's defaults would
// use the local one in both directions. So Dates go in as UTC ISO text (a
// time-zone designator is ignored for a timestamp without time zone) and
// timestamps come back as ISO text marked UTC, as on SQLite.
import type pg from 'pg';
import { numbered, type PreparedStatements } from './prepared-statements.ts';

const TIMESTAMP_OID = 1114;

/** "2026-11-29 07:15:00.123" (UTC by Prisma's convention) → "2026-11-29T07:15:00.123+00:00". */
const utcText = (text: string) => `${text.replace(' ', 'T')}+00:00`;

function bindable(params: unknown[]): unknown[] {
  for (let i = 0; i < params.length; i++) if (params[i] instanceof Date) params[i] = (params[i] as Date).toISOString();
  return params;
}

export function createPostgresStatements(pool: pg.Pool, pgTypes: typeof pg.types): PreparedStatements {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === TIMESTAMP_OID ? utcText : pgTypes.getTypeParser(oid, format))) as typeof pgTypes.getTypeParser,
  };
  const texts = new Map<string, { name: string; text: string }>();

  function query(sql: string, params: unknown[]) {
    let named = texts.get(sql);
    if (!named) {
      named = { name: `latchkey_${texts.size + 1}`, text: numbered(sql) };
      texts.set(sql, named);
    }
    return pool.query({ ...named, values: bindable(params), types });
  }

  return {
    get: async <Row>(sql: string, ...params: unknown[]) => (await query(sql, params)).rows[0] as Row | undefined,
    all: async <Row>(sql: string, ...params: unknown[]) => (await query(sql, params)).rows as Row[],
    run: async (sql: string, ...params: unknown[]) => (await query(sql, params)).rowCount ?? 0,
    // The pool is Prisma's too: closing the database ends it.
    close: async () => {},
  };
}
