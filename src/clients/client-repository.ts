// Prisma calls for Client rows, and nothing else: the rules live in
// client-service.ts.
import type { Models, PrismaClient } from '../db/database.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { bumpRegistry, readRegistryVersion } from '../db/registry-changes.ts';

export type ClientRow = Models.ClientModel;

export interface NewClientRow {
  readonly id: string;
  readonly name: string;
  readonly secretHash: string | null;
  /** oidc-provider metadata as JSON text, never with a client_secret in it. */
  readonly metadata: string;
}

/** What an update may change. */
export interface ClientChanges {
  readonly name?: string;
  readonly secretHash?: string | null;
  readonly metadata?: string;
}

/** Client ids are 'lk_' and 22 base64url characters (client-service.ts): nothing longer is stored. */
const MAX_ID_LENGTH = 64;

export function createClientRepository(prisma: PrismaClient) {
  return {
    async insert(row: NewClientRow): Promise<ClientRow> {
      const [created] = await prisma.$transaction([prisma.client.create({ data: row }), bumpRegistry(prisma, 'clients')]);
      return created;
    },

    list(): Promise<ClientRow[]> {
      return prisma.client.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },

    /** One page in id order: rows with an id after `after` (all when absent), at most `limit`. */
    listPage({ after, limit }: { readonly after?: string; readonly limit: number }): Promise<ClientRow[]> {
      return prisma.client.findMany({ where: after === undefined ? {} : { id: { gt: after } }, orderBy: { id: 'asc' }, take: limit });
    },

    /**
     * Compare-and-swap: writes `data` only while the row still has the
     * `updatedAt` read before (`expected`); resolves to the new row, or
     * undefined when the row is gone or changed meanwhile. The new updatedAt
     * is always later than the old one, so the version always moves.
     */
    async updateIfUnchanged(id: string, expected: Date, data: ClientChanges): Promise<ClientRow | undefined> {
      const updatedAt = new Date(Math.max(Date.now(), expected.getTime() + 1));
      const [{ count }] = await prisma.$transaction([
        prisma.client.updateMany({ where: { id, updatedAt: expected }, data: { ...data, updatedAt } }),
        bumpRegistry(prisma, 'clients'),
      ]);
      return count > 0 ? ((await prisma.client.findUnique({ where: { id } })) ?? undefined) : undefined;
    },

    /** Deletes the row only while it still has `expected` as updatedAt; resolves to whether it did. */
    async deleteIfUnchanged(id: string, expected: Date): Promise<boolean> {
      const [{ count }] = await prisma.$transaction([prisma.client.deleteMany({ where: { id, updatedAt: expected } }), bumpRegistry(prisma, 'clients')]);
      return count > 0;
    },

    /** `id` may come straight from a request (a client_id): one the database cannot take is simply not found. */
    async findById(id: string): Promise<ClientRow | undefined> {
      if (!isDatabaseText(id, MAX_ID_LENGTH)) return undefined;
      return (await prisma.client.findUnique({ where: { id } })) ?? undefined;
    },

    /** Resolves to the updated row, or undefined when the client does not exist. */
    async updateSecretHash(id: string, secretHash: string): Promise<ClientRow | undefined> {
      const [{ count }] = await prisma.$transaction([prisma.client.updateMany({ where: { id }, data: { secretHash } }), bumpRegistry(prisma, 'clients')]);
      return count > 0 ? ((await prisma.client.findUnique({ where: { id } })) ?? undefined) : undefined;
    },

    /** Replaces the metadata JSON; resolves to the updated row, or undefined when the client does not exist. */
    async updateMetadata(id: string, metadata: string): Promise<ClientRow | undefined> {
      const [{ count }] = await prisma.$transaction([prisma.client.updateMany({ where: { id }, data: { metadata } }), bumpRegistry(prisma, 'clients')]);
      return count > 0 ? ((await prisma.client.findUnique({ where: { id } })) ?? undefined) : undefined;
    },

    /** Changes with every write above (a counter bumped in the same transaction); caches poll it. */
    changeMarker(): Promise<string> {
      return readRegistryVersion(prisma, 'clients');
    },

    /** Resolves to whether a row was deleted. */
    async deleteById(id: string): Promise<boolean> {
      const [{ count }] = await prisma.$transaction([prisma.client.deleteMany({ where: { id } }), bumpRegistry(prisma, 'clients')]);
      return count > 0;
    },
  };
}

export type ClientRepository = ReturnType<typeof createClientRepository>;
