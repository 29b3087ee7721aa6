// Prisma calls for AuditEvent rows, and nothing else: batching and the rules
// for what an event holds live in audit-service.ts.
import type { Models, PrismaClient } from '../db/database.ts';

export type AuditEventRow = Models.AuditEventModel;

export interface AuditQuery {
  readonly since?: Date;
  /** Exact types; a type ending in ".*" matches its whole group (e.g. "login.*"). */
  readonly types?: readonly string[];
  readonly limit: number;
}

// Far below PostgreSQL's 65,535 bind parameters and SQLite's 32,766 at 8 columns a row.
const ROWS_PER_STATEMENT = 500;

export function createAuditRepository(prisma: PrismaClient) {
  return {
    async insert(row: AuditEventRow): Promise<void> {
      await prisma.auditEvent.create({ data: row });
    },

    /** One multi-row INSERT per 500 rows (createMany works on both dialects; skipDuplicates is not used: SQLite lacks it). */
    async insertMany(rows: readonly AuditEventRow[]): Promise<void> {
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        await prisma.auditEvent.createMany({ data: rows.slice(start, start + ROWS_PER_STATEMENT) });
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
