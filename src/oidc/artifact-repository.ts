// Prisma calls for the OidcArtifact table, where every oidc-provider artifact
// (sessions, grants, codes, tokens, interactions…) lives, keyed by (model, id).
// No rules here: what counts as expired or consumed is the adapter's call.
import type { Models, PrismaClient } from '../db/database.ts';

export type ArtifactRow = Models.OidcArtifactModel;

export interface ArtifactWrite {
  /** The artifact as JSON text. */
  readonly payload: string;
  readonly grantId?: string | null;
  readonly uid?: string | null;
  readonly userCode?: string | null;
  readonly expiresAt?: Date | null;
}

export interface ArtifactLookup {
  /** Only rows that have not expired at this instant (no expiry counts as live). */
  readonly liveAt?: Date;
}

/** Rows deleted per statement by purgeExpired: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

export function createArtifactRepository(prisma: PrismaClient) {
  const live = (lookup: ArtifactLookup) =>
    lookup.liveAt ? { OR: [{ expiresAt: null }, { expiresAt: { gt: lookup.liveAt } }] } : {};

  return {
    /** Replaces the artifact's payload and columns; a consumedAt already set is kept. */
    async upsert(model: string, id: string, write: ArtifactWrite): Promise<void> {
      const columns = {
        payload: write.payload,
        grantId: write.grantId ?? null,
        uid: write.uid ?? null,
        userCode: write.userCode ?? null,
        expiresAt: write.expiresAt ?? null,
      };
      await prisma.oidcArtifact.upsert({
        where: { model_id: { model, id } },
        create: { model, id, ...columns },
        update: columns,
      });
    },

    async find(model: string, id: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return prisma.oidcArtifact.findFirst({ where: { model, id, ...live(lookup) } });
    },

    async findByUid(model: string, uid: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return prisma.oidcArtifact.findFirst({
        where: { model, uid, ...live(lookup) },
        orderBy: { expiresAt: 'desc' },
      });
    },

    async findByUserCode(model: string, userCode: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      // User codes are short, so two live ones may collide; the newest wins,
      // as it does in oidc-provider's own in-memory adapter.
      return prisma.oidcArtifact.findFirst({
        where: { model, userCode, ...live(lookup) },
        orderBy: { expiresAt: 'desc' },
      });
    },

    /** Marks the artifact consumed; returns whether a row was there to mark. */
    async consume(model: string, id: string, at: Date): Promise<boolean> {
      const { count } = await prisma.oidcArtifact.updateMany({ where: { model, id }, data: { consumedAt: at } });
      return count > 0;
    },

    async destroy(model: string, id: string): Promise<void> {
      await prisma.oidcArtifact.deleteMany({ where: { model, id } });
    },

    /** Deletes every artifact, of any model, issued under the grant. */
    async revokeByGrantId(grantId: string): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { grantId } });
      return count;
    },

    /**
     * Deletes rows whose expiresAt is before `before`, PURGE_BATCH_SIZE rows per
     * statement, at most `limit` in all. Returns how many were deleted.
     */
    async purgeExpired(before: Date, limit: number = Number.POSITIVE_INFINITY): Promise<number> {
      let deleted = 0;
      while (deleted < limit) {
        const batch = await prisma.oidcArtifact.findMany({
          where: { expiresAt: { lt: before } },
          select: { model: true, id: true },
          take: Math.min(PURGE_BATCH_SIZE, limit - deleted),
        });
        if (batch.length === 0) break;

        const idsByModel = new Map<string, string[]>();
        for (const { model, id } of batch) {
          const ids = idsByModel.get(model) ?? [];
          ids.push(id);
          idsByModel.set(model, ids);
        }
        for (const [model, ids] of idsByModel) {
          // The expiry is checked again: a row re-saved with a later expiry
          // between the select and this delete must stay.
          const { count } = await prisma.oidcArtifact.deleteMany({
            where: { model, id: { in: ids }, expiresAt: { lt: before } },
          });
          deleted += count;
        }
        if (batch.length < PURGE_BATCH_SIZE) break;
      }
      return deleted;
    },
  };
}

export type ArtifactRepository = ReturnType<typeof createArtifactRepository>;
