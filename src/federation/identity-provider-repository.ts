// Prisma calls for IdentityProvider rows, and nothing else: the rules live in
// identity-provider-service.ts.
import type { Models, PrismaClient } from '../db/database.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { SLUG_MAX_LENGTH } from './identity-provider-validation.ts';

export type IdentityProviderRow = Models.IdentityProviderModel;

/** A row without its sealed secret: what listing and finding hand over. */
export type IdentityProviderRecord = Omit<IdentityProviderRow, 'sealedClientSecret'>;

export type NewIdentityProviderRow = Omit<IdentityProviderRow, 'createdAt' | 'updatedAt'>;

export type IdentityProviderChanges = Partial<Pick<IdentityProviderRow, 'name' | 'issuer' | 'clientId' | 'sealedClientSecret' | 'scope' | 'enabled'>>;

/** Provider ids are UUIDs. */
const ID_LENGTH = 36;

// Every column but the sealed secret: the secret is read only when a sign-in
// needs it (sealedSecretOf), never on the login page's listing.
const RECORD = { id: true, slug: true, name: true, type: true, issuer: true, clientId: true, scope: true, enabled: true, createdAt: true, updatedAt: true } as const;
const BY_NAME = [{ name: 'asc' }, { slug: 'asc' }] as const;

export function createIdentityProviderRepository(prisma: PrismaClient) {
  return {
    /** Resolves to undefined when the slug is already taken (unique index). */
    async insert(row: NewIdentityProviderRow): Promise<IdentityProviderRecord | undefined> {
      try {
        return await prisma.identityProvider.create({ data: row, select: RECORD });
      } catch (error) {
        if (isUniqueViolation(error)) return undefined;
        throw error;
      }
    },

    list(): Promise<IdentityProviderRecord[]> {
      return prisma.identityProvider.findMany({ select: RECORD, orderBy: [...BY_NAME] });
    },

    /** One query on every login page: only the enabled ones, by name. */
    listEnabled(): Promise<IdentityProviderRecord[]> {
      return prisma.identityProvider.findMany({ where: { enabled: true }, select: RECORD, orderBy: [...BY_NAME] });
    },

    /** `slug` may come from a URL (/federation/<slug>/…): one the database cannot take is not found. */
    async findBySlug(slug: string): Promise<IdentityProviderRecord | undefined> {
      if (!isDatabaseText(slug, SLUG_MAX_LENGTH)) return undefined;
      return (await prisma.identityProvider.findUnique({ where: { slug }, select: RECORD })) ?? undefined;
    },

    async findManyById(ids: readonly string[]): Promise<IdentityProviderRecord[]> {
      const valid = ids.filter((id) => isDatabaseText(id, ID_LENGTH));
      if (valid.length === 0) return [];
      return prisma.identityProvider.findMany({ where: { id: { in: valid } }, select: RECORD });
    },

    async sealedSecretOf(id: string): Promise<string | undefined> {
      if (!isDatabaseText(id, ID_LENGTH)) return undefined;
      return (await prisma.identityProvider.findUnique({ where: { id }, select: { sealedClientSecret: true } }))?.sealedClientSecret;
    },

    /** Every provider's sealed secret, for re-sealing them under a new master secret. */
    listSealed(): Promise<Pick<IdentityProviderRow, 'id' | 'slug' | 'sealedClientSecret'>[]> {
      return prisma.identityProvider.findMany({ select: { id: true, slug: true, sealedClientSecret: true }, orderBy: { slug: 'asc' } });
    },

    /** Replaces the sealed secret only while it is still `expected`: a secret changed meanwhile is left as its writer sealed it. */
    async replaceSealed(id: string, expected: string, sealedClientSecret: string): Promise<boolean> {
      const { count } = await prisma.identityProvider.updateMany({ where: { id, sealedClientSecret: expected }, data: { sealedClientSecret } });
      return count > 0;
    },

    /** Resolves to the updated row, or undefined when it is gone. */
    async update(id: string, changes: IdentityProviderChanges): Promise<IdentityProviderRecord | undefined> {
      const { count } = await prisma.identityProvider.updateMany({ where: { id }, data: changes });
      return count > 0 ? ((await prisma.identityProvider.findUnique({ where: { id }, select: RECORD })) ?? undefined) : undefined;
    },

    /**
     * Deletes the provider and every account link through it, in one
     * transaction: no link is left naming a provider that is gone. True when
     * the provider was there.
     */
    async delete(id: string): Promise<boolean> {
      const [, { count }] = await prisma.$transaction([
        prisma.federatedIdentity.deleteMany({ where: { providerId: id } }),
        prisma.identityProvider.deleteMany({ where: { id } }),
      ]);
      return count > 0;
    },
  };
}

export type IdentityProviderRepository = ReturnType<typeof createIdentityProviderRepository>;
