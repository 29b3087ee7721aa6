// Prisma calls for AuditEvent rows, and nothing else: batching and the rules
// for what an event holds live in audit-service.ts.
import { purgeInBatches } from '../db/batch-purge.ts';
import type { Database, Models } from '../db/database.ts';
import { sql } from '../db/sql.ts';

export type AuditEventRow = Models.AuditEventModel;

export interface AuditQuery {
  readonly since?: Date;
  /** Exact types; a type ending in ".*" matches its whole group (e.g. "login.*"). */
  readonly types?: readonly string[];
  readonly limit: number;
}

/** Rows deleted per statement by purgeBefore (the shared batch size, db/batch-purge.ts). */
export { PURGE_BATCH_SIZE } from '../db/batch-purge.ts';

/**
 * Every token issued is audited, so batches of rows are inserted all the
 * time under load: each batch as one raw statement through Prisma with one
 * parameter, the rows as a JSON array of arrays (columns in the order the
 * statement names them), unpacked by the database. (Prisma's createMany
 * binds eight parameters a row through its query compiler: about a third of
 * a client-credentials request's CPU.)
 *
 * Every insert skips rows whose id is already stored: a batch longer than
 * one statement may be cut short (a lost connection) after part of it was
 * written, and the audit buffer then retries all of it. An id is the same
 * event: ids are UUIDv7s with 62 random bits.
 */
const ROWS_PER_STATEMENT = 1000;
const INSERT = {
  // "WHERE true" lets SQLite's parser tell the upsert clause from a join's ON.
  sqlite: (rows: string) => sql`INSERT INTO "AuditEvent" ("id", "type", "at", "actor", "subject", "clientId", "ip", "details")
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
    FROM json_each(${rows}) WHERE true
    ON CONFLICT ("id") DO NOTHING`,
  // timestamp(3) without time zone, as Prisma stores it: UTC, the "Z" is dropped by the cast.
  postgres: (rows: string) => sql`INSERT INTO "AuditEvent" ("id", "type", "at", "actor", "subject", "clientId", "ip", "details")
    SELECT r ->> 0, r ->> 1, (r ->> 2)::timestamp(3), r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7
    FROM jsonb_array_elements(${rows}::jsonb) AS r
    ON CONFLICT ("id") DO NOTHING`,
} as const;

/** `at` as the column stores it: on SQLite the text Prisma's adapter writes for a DateTime (ISO 8601, "+00:00"), so Prisma reads and compares it alike. */
const STORED_TIME = {
  sqlite: (date: Date) => date.toISOString().replace('Z', '+00:00'),
  postgres: (date: Date) => date.toISOString(),
} as const;

export function createAuditRepository({ prisma, dialect }: Pick<Database, 'prisma' | 'dialect'>) {
  const at = STORED_TIME[dialect];
  const values = (row: AuditEventRow) => [row.id, row.type, at(row.at), row.actor, row.subject, row.clientId, row.ip, row.details];

  return {
    async insert(row: AuditEventRow): Promise<void> {
      await prisma.auditEvent.create({ data: row });
    },

    async insertMany(rows: readonly AuditEventRow[]): Promise<void> {
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        await prisma.$executeRaw(INSERT[dialect](JSON.stringify(rows.slice(start, start + ROWS_PER_STATEMENT).map(values))));
      }
    },

    /**
     * Deletes events recorded before `before`, PURGE_BATCH_SIZE per batch,
     * at most `limit` in all (the `at` index finds them). Returns how many.
     */
    purgeBefore(before: Date, limit?: number): Promise<number> {
      return purgeInBatches(
        {
          find: (take) => prisma.auditEvent.findMany({ where: { at: { lt: before } }, select: { id: true }, orderBy: { at: 'asc' }, take }),
          delete: async (rows) => (await prisma.auditEvent.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } })).count,
        },
        limit,
      );
    },

    /** Newest first; ids are time-ordered, so they break ties within a millisecond. */
    list({ since, types, limit }: AuditQuery): Promise<AuditEventRow[]> {
      const typeFilters = (types ?? []).map((type) =>
        type.endsWith('.*') ? { type: { startsWith: type.slice(0, -1) } } : { type },
      );
      return prisma.auditEvent.findMany({
        where: {
          ...(since && { at: { gte: since } }),
          ...(typeFilters.length && { OR: typeFilters }),
        },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: limit,
      });
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
