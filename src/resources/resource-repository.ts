// Prisma calls for ApiResource rows, and nothing else: the rules live in
// resource-service.ts.
import type { Models, PrismaClient } from '../db/database.ts';
import { bumpRegistry, readRegistryVersion } from '../db/registry-changes.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { MAX_IDENTIFIER_LENGTH } from './resource-validation.ts';

export type ApiResourceRow = Models.ApiResourceModel;

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
      return (await prisma.apiResource.findUnique({ where: { id } })) ?? undefined;
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
