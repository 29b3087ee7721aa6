// Prisma calls for ApiResource rows, and nothing else: the rules live in
// resource-service.ts.
import type { Models, PrismaClient } from '../db/database.ts';
import { bumpRegistry, readRegistryVersion } from '../db/registry-changes.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { MAX_IDENTIFIER_LENGTH } from './resource-validation.ts';

export type ApiResourceRow = Models.ApiResourceModel;

/** What an update may change. */
export interface ResourceChanges {
  readonly scopes?: string;
  readonly accessTokenTtl?: number;
  readonly signingAlg?: string;
}

/** Resource ids are UUIDs (resource-service.ts): nothing longer is stored. */
const MAX_ID_LENGTH = 64;

export interface NewApiResourceRow {
  readonly id: string;
  readonly identifier: string;
  readonly scopes: string;
  readonly accessTokenTtl: number;
  readonly signingAlg: string;
}

export function createResourceRepository(prisma: PrismaClient) {
  return {
    /** Resolves to undefined when the identifier is already taken (unique index). */
    async insert(row: NewApiResourceRow): Promise<ApiResourceRow | undefined> {
      try {
        const [created] = await prisma.$transaction([prisma.apiResource.create({ data: row }), bumpRegistry(prisma, 'resources')]);
        return created;
      } catch (error) {
        if (isUniqueViolation(error)) return undefined;
        throw error;
      }
    },

    list(): Promise<ApiResourceRow[]> {
      return prisma.apiResource.findMany({ orderBy: [{ identifier: 'asc' }] });
    },

    /** `identifier` may come straight from a request (a resource indicator): one the database cannot take is simply not found. */
    async findByIdentifier(identifier: string): Promise<ApiResourceRow | undefined> {
      if (!isDatabaseText(identifier, MAX_IDENTIFIER_LENGTH)) return undefined;
      return (await prisma.apiResource.findUnique({ where: { identifier } })) ?? undefined;
    },

    findManyByIdentifier(identifiers: readonly string[]): Promise<ApiResourceRow[]> {
      return prisma.apiResource.findMany({ where: { identifier: { in: [...identifiers] } } });
    },

    async findById(id: string): Promise<ApiResourceRow | undefined> {
      if (!isDatabaseText(id, MAX_ID_LENGTH)) return undefined;
      return (await prisma.apiResource.findUnique({ where: { id } })) ?? undefined;
    },

    /** One page in id order: rows with an id after `after` (all when absent), at most `limit`. */
    listPage({ after, limit }: { readonly after?: string; readonly limit: number }): Promise<ApiResourceRow[]> {
      return prisma.apiResource.findMany({ where: after === undefined ? {} : { id: { gt: after } }, orderBy: { id: 'asc' }, take: limit });
    },

    /**
     * Compare-and-swap: writes `data` only while the row still has the
     * `updatedAt` read before (`expected`); resolves to the new row, or
     * undefined when the row is gone or changed meanwhile. The new updatedAt
     * is always later than the old one, so the version always moves.
     */
    async updateIfUnchanged(id: string, expected: Date, data: ResourceChanges): Promise<ApiResourceRow | undefined> {
      const updatedAt = new Date(Math.max(Date.now(), expected.getTime() + 1));
      const [{ count }] = await prisma.$transaction([
        prisma.apiResource.updateMany({ where: { id, updatedAt: expected }, data: { ...data, updatedAt } }),
        bumpRegistry(prisma, 'resources'),
      ]);
      return count > 0 ? ((await prisma.apiResource.findUnique({ where: { id } })) ?? undefined) : undefined;
    },

    /**
     * Deletes the resource (only while it still has `expected` as updatedAt,
     * when given) and removes its identifier from every client's resources
     * and token-exchange audiences,
     * in one transaction: no client is left naming an API that no longer
     * exists. Resolves to whether the resource was deleted.
     */
    async deleteAndDetach(row: Pick<ApiResourceRow, 'id' | 'identifier'>, expected?: Date): Promise<boolean> {
      return prisma.$transaction(async (tx) => {
        // Writes first: SQLite then holds its write lock from the start (a read first would fail with SQLITE_BUSY on upgrade).
        await bumpRegistry(tx as PrismaClient, 'resources');
        await bumpRegistry(tx as PrismaClient, 'clients');
        const { count } = await tx.apiResource.deleteMany({ where: { id: row.id, ...(expected && { updatedAt: expected }) } });
        if (count === 0) return false;
        // Metadata is JSON text: the identifier appears in it as a JSON string wherever a client names it.
        const candidates = await tx.client.findMany({ where: { metadata: { contains: JSON.stringify(row.identifier) } }, select: { id: true, metadata: true } });
        for (const client of candidates) {
          // Its resources, and the audiences it may exchange tokens for (token_exchange_audiences, RFC 8693).
          const metadata = JSON.parse(client.metadata) as { resources?: string[]; token_exchange_audiences?: string[] };
          const named = (list: string[] | undefined) => list?.includes(row.identifier) === true;
          if (!named(metadata.resources) && !named(metadata.token_exchange_audiences)) continue;
          if (metadata.resources) metadata.resources = metadata.resources.filter((identifier) => identifier !== row.identifier);
          const audiences = metadata.token_exchange_audiences?.filter((identifier) => identifier !== row.identifier);
          if (audiences?.length) metadata.token_exchange_audiences = audiences;
          else delete metadata.token_exchange_audiences;
          await tx.client.update({ where: { id: client.id }, data: { metadata: JSON.stringify(metadata) } });
        }
        return true;
      });
    },

    /** Changes with every write (a counter bumped in the same transaction); caches poll it. */
    changeMarker(): Promise<string> {
      return readRegistryVersion(prisma, 'resources');
    },

    /** Resolves to whether a row was deleted. */
    async deleteById(id: string): Promise<boolean> {
      const [{ count }] = await prisma.$transaction([prisma.apiResource.deleteMany({ where: { id } }), bumpRegistry(prisma, 'resources')]);
      return count > 0;
    },
  };
}

export type ResourceRepository = ReturnType<typeof createResourceRepository>;
