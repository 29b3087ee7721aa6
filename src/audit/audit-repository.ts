// Prisma calls for AuditEvent rows, and nothing else: batching and the rules
// for what an event holds live in audit-service.ts.
import type { Database, Models } from '../db/database.ts';
import { BUSY } from '../db/prepared-statements.ts';
import { sqliteTime } from '../db/sqlite-statements.ts';
import { isoTime } from '../iso-time.ts';

export type AuditEventRow = Models.AuditEventModel;

export interface AuditQuery {
  readonly since?: Date;
  /** Exact types; a type ending in ".*" matches its whole group (e.g. "login.*"). */
  readonly types?: readonly string[];
  readonly limit: number;
  /** Only events older than this one in (at desc, id desc) order: a page's cursor, the last event of the page before. */
  readonly before?: AuditPosition;
}

/** Where an event sits in the newest-first order. */
export interface AuditPosition {
  readonly at: Date;
  readonly id: string;
}

/** How many events of one type were recorded in one UTC hour. */
export interface HourlyCount {
  /** The hour, as "YYYY-MM-DDTHH" (UTC). */
  readonly hour: string;
  readonly type: string;
  readonly count: number;
}

/**
 * Events of some types counted per UTC hour since an instant: one grouped
 * statement (the (type, at) index finds the rows), the hour cut by each
 * dialect's own function into the same text. SQLite stores "at" as ISO 8601
 * text in UTC (sqliteTime), so its first 13 characters are the hour.
 */
const HOURLY = {
  sqlite: (types: number) =>
    `SELECT substr("at", 1, 13) AS "hour", "type", COUNT(*) AS "count" FROM "AuditEvent"
      WHERE "type" IN (${Array.from({ length: types }, () => '?').join(', ')}) AND "at" >= ? GROUP BY 1, 2`,
  postgres: (types: number) =>
    `SELECT to_char(date_trunc('hour', "at"), 'YYYY-MM-DD"T"HH24') AS "hour", "type", COUNT(*) AS "count" FROM "AuditEvent"
      WHERE "type" IN (${Array.from({ length: types }, (_, i) => `$${i + 1}`).join(', ')}) AND "at" >= $${types + 1}::timestamp(3) GROUP BY 1, 2`,
} as const;

/** Rows deleted per statement by purgeBefore: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

const COLUMNS = '"id", "type", "at", "actor", "subject", "clientId", "ip", "details"';

/**
 * Every token issued is audited, so batches of rows are inserted all the
 * time under load: each with one prepared statement (db/prepared-statements.ts)
 * of one fixed text, so it is parsed once, however many rows a batch has.
 * On SQLite, a statement of 100 rows of parameters, the unused ones null and
 * left out by the WHERE. On PostgreSQL, one array per column.
 *
 * Every insert skips rows whose id is already stored: a batch longer than
 * one statement may be cut short (SQLite busy, a lost connection) after
 * part of it was written, and the audit buffer then retries all of it.
 * An id is the same event: ids are UUIDv7s with 62 random bits.
 */
const SQLITE_ROWS = 100;
const POSTGRES_ROWS = 1000;
const PREPARED_INSERT = {
  sqlite: `INSERT INTO "AuditEvent" (${COLUMNS})
    SELECT * FROM (VALUES ${Array.from({ length: SQLITE_ROWS }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')})
    WHERE column1 IS NOT NULL
    ON CONFLICT ("id") DO NOTHING`,
  postgres: `INSERT INTO "AuditEvent" (${COLUMNS})
    SELECT * FROM unnest(?::text[], ?::text[], ?::timestamp(3)[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
    ON CONFLICT ("id") DO NOTHING`,
} as const;

/**
 * Without prepared statements (an in-memory SQLite database), or when SQLite
 * is busy: a whole batch as one Prisma statement with one parameter, the rows
 * as a JSON array of arrays (columns in COLUMNS order), unpacked by the
 * database. (Prisma's createMany binds eight parameters a row through its
 * query compiler: about a third of a client-credentials request's CPU.)
 */
const JSON_ROWS = 1000;
const JSON_INSERT = {
  // "WHERE true" lets SQLite's parser tell the upsert clause from a join's ON.
  sqlite: `INSERT INTO "AuditEvent" (${COLUMNS})
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
    FROM json_each(?) WHERE true
    ON CONFLICT ("id") DO NOTHING`,
  // timestamp(3) without time zone, as Prisma stores it: UTC, the "Z" is dropped by the cast.
  postgres: `INSERT INTO "AuditEvent" (${COLUMNS})
    SELECT r ->> 0, r ->> 1, (r ->> 2)::timestamp(3), r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7
    FROM jsonb_array_elements($1::jsonb) AS r
    ON CONFLICT ("id") DO NOTHING`,
} as const;

/** A row's values in COLUMNS order, `at` as text. */
type RowValues = readonly [string, string, string, string | null, string | null, string | null, string | null, string | null];

/** The parameters of the prepared insert for up to its number of rows. */
const PREPARED_PARAMS = {
  sqlite(rows: readonly RowValues[]): unknown[] {
    const params: unknown[] = rows.flat();
    while (params.length < SQLITE_ROWS * 8) params.push(null);
    return params;
  },
  postgres: (rows: readonly RowValues[]): unknown[] => Array.from({ length: 8 }, (_, column) => rows.map((row) => row[column])),
};

export function createAuditRepository({ prisma, dialect, statements }: Pick<Database, 'prisma' | 'dialect' | 'statements'>) {
  const preparedRows = dialect === 'sqlite' ? SQLITE_ROWS : POSTGRES_ROWS;
  // `at` as the column stores it; on SQLite the way Prisma's adapter writes a DateTime (ISO 8601, "+00:00"), so Prisma reads it back.
  const at = dialect === 'sqlite' ? sqliteTime : (date: Date) => isoTime(date.getTime());
  const values = (row: AuditEventRow): RowValues => [row.id, row.type, at(row.at), row.actor, row.subject, row.clientId, row.ip, row.details];

  /** Inserts through the prepared statement; returns how many rows it wrote (fewer than all when SQLite was busy). */
  async function insertPrepared(rows: readonly RowValues[]): Promise<number> {
    if (!statements) return 0;
    for (let written = 0; written < rows.length; written += preparedRows) {
      const chunk = rows.slice(written, written + preparedRows);
      if ((await statements.run(PREPARED_INSERT[dialect], ...PREPARED_PARAMS[dialect](chunk))) === BUSY) return written;
    }
    return rows.length;
  }

  return {
    async insert(row: AuditEventRow): Promise<void> {
      await prisma.auditEvent.create({ data: row });
    },

    async insertMany(rows: readonly AuditEventRow[]): Promise<void> {
      const all = rows.map(values);
      const rest = all.slice(await insertPrepared(all));
      for (let start = 0; start < rest.length; start += JSON_ROWS) {
        await prisma.$executeRawUnsafe(JSON_INSERT[dialect], JSON.stringify(rest.slice(start, start + JSON_ROWS)));
      }
    },

    /**
     * Deletes events recorded before `before`, PURGE_BATCH_SIZE per statement,
     * at most `limit` in all (the `at` index finds them). Returns how many.
     */
    async purgeBefore(before: Date, limit: number = Number.POSITIVE_INFINITY): Promise<number> {
      let deleted = 0;
      while (deleted < limit) {
        const batch = await prisma.auditEvent.findMany({ where: { at: { lt: before } }, select: { id: true }, orderBy: { at: 'asc' }, take: Math.min(PURGE_BATCH_SIZE, limit - deleted) });
        if (batch.length === 0) break;
        const { count } = await prisma.auditEvent.deleteMany({ where: { id: { in: batch.map((row) => row.id) } } });
        deleted += count;
        if (batch.length < PURGE_BATCH_SIZE) break;
      }
      return deleted;
    },

    /** Newest first; ids are time-ordered, so they break ties within a millisecond. */
    list({ since, types, limit, before }: AuditQuery): Promise<AuditEventRow[]> {
      const typeFilters = (types ?? []).map((type) =>
        type.endsWith('.*') ? { type: { startsWith: type.slice(0, -1) } } : { type },
      );
      return prisma.auditEvent.findMany({
        where: {
          ...(since && { at: { gte: since } }),
          ...(typeFilters.length && { OR: typeFilters }),
          ...(before && { AND: [{ OR: [{ at: { lt: before.at } }, { at: before.at, id: { lt: before.id } }] }] }),
        },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: limit,
      });
    },

    /** Counts per UTC hour and type of the events of `types` recorded since `since`. */
    async hourlyCounts(since: Date, types: readonly string[]): Promise<HourlyCount[]> {
      if (types.length === 0) return [];
      const rows = await prisma.$queryRawUnsafe<{ hour: string; type: string; count: number | bigint }[]>(HOURLY[dialect](types.length), ...types, at(since));
      return rows.map((row) => ({ hour: row.hour, type: row.type, count: Number(row.count) }));
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
