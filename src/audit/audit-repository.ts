// Prisma calls for AuditEvent rows, and nothing else: batching and the rules
// for what an event holds live in audit-service.ts.
import type { Database, Models } from '../db/database.ts';

export type AuditEventRow = Models.AuditEventModel;

export interface AuditQuery {
  readonly since?: Date;
  /** Exact types; a type ending in ".*" matches its whole group (e.g. "login.*"). */
  readonly types?: readonly string[];
  readonly limit: number;
}

// Bounds one statement's parameter (a few hundred KB) when a backlog is written after an outage.
const ROWS_PER_STATEMENT = 1000;

const COLUMNS = '"id", "type", "at", "actor", "subject", "clientId", "ip", "details"';

/**
 * A whole batch as one statement with one parameter: the rows as a JSON
 * array, unpacked by the database. Every token issued is audited, so this
 * runs all the time under load; Prisma's createMany builds and binds eight
 * parameters a row through its query compiler, which cost about a third of
 * the CPU of a client-credentials request. One fixed SQL text with a single
 * parameter costs the same for 1 row or 500.
 */
const BATCH_INSERT = {
  // `at` is stored the way Prisma's SQLite adapter writes a DateTime (ISO 8601, "+00:00"), so Prisma reads it back.
  sqlite: `INSERT INTO "AuditEvent" (${COLUMNS})
    SELECT value ->> 'id', value ->> 'type', value ->> 'at', value ->> 'actor', value ->> 'subject', value ->> 'clientId', value ->> 'ip', value ->> 'details'
    FROM json_each(?)`,
  // timestamp(3) without time zone, as Prisma stores it: UTC, the "Z" is dropped by the cast.
  postgres: `INSERT INTO "AuditEvent" (${COLUMNS})
    SELECT "id", "type", "at", "actor", "subject", "clientId", "ip", "details"
    FROM jsonb_to_recordset($1::jsonb)
      AS r("id" text, "type" text, "at" timestamp(3), "actor" text, "subject" text, "clientId" text, "ip" text, "details" text)`,
} as const;

export function createAuditRepository({ prisma, dialect }: Pick<Database, 'prisma' | 'dialect'>) {
  const batchInsert = BATCH_INSERT[dialect];
  const at = dialect === 'sqlite' ? (date: Date) => date.toISOString().replace('Z', '+00:00') : (date: Date) => date.toISOString();
  return {
    async insert(row: AuditEventRow): Promise<void> {
      await prisma.auditEvent.create({ data: row });
    },

    async insertMany(rows: readonly AuditEventRow[]): Promise<void> {
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(start, start + ROWS_PER_STATEMENT).map((row) => ({ ...row, at: at(row.at) }));
        await prisma.$executeRawUnsafe(batchInsert, JSON.stringify(chunk));
      }
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
