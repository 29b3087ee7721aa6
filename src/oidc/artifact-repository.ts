// Database calls for the OidcArtifact table, where every oidc-provider artifact
// (sessions, grants, codes, tokens, interactions…) lives, keyed by (model, id)
// where id is what the adapter hands over (a digest: artifact-key.ts). No
// rules here: what counts as expired or consumed is the adapter's call.
//
// The statements on the sign-in path (find, upsert, consume, destroy: about
// thirty a login, five a refresh or an introspection) are each one raw
// statement through Prisma's own connection: a model query costs its query
// compiler's work on top (scratch measurement on SQLite: model query 243 µs
// CPU, raw 83 µs). Rows come back as the model's type: the table's columns
// are declared once, in prisma/models.prisma. The rare calls (purge, revoke
// by grant or by account, a retried refresh) are model queries.
//
// Lookups by id started together are one statement: an introspection asks
// for its token as an AccessToken, a ClientCredentials and a RefreshToken at
// once (oidc-provider's token_find.js), three statements where one answers.
import DataLoader from 'dataloader';
import { PURGE_BATCH_SIZE, purgeInBatches } from '../db/batch-purge.ts';
import type { Database, Models } from '../db/database.ts';
import { empty, join, sql } from '../db/sql.ts';

export type ArtifactRow = Models.OidcArtifactModel;

export interface ArtifactWrite {
  /** The artifact as JSON text. */
  readonly payload: string;
  readonly grantId?: string | null;
  readonly accountId?: string | null;
  readonly uid?: string | null;
  readonly userCode?: string | null;
  readonly expiresAt?: Date | null;
  /** Set once, by the insert: a refresh token's id sealed for the token it replaced (refresh-retries.ts). */
  readonly sealedForPredecessor?: string | null;
}

export interface ArtifactLookup {
  /** Only rows that have not expired at this instant (no expiry counts as live). */
  readonly liveAt?: Date;
}

/** Rows deleted per statement by purgeExpired (the shared batch size, db/batch-purge.ts). */
export { PURGE_BATCH_SIZE };

const BY = { uid: sql`"uid"`, userCode: sql`"userCode"` };

/** Whether the row has not expired at `liveAt` (no expiry counts as live; no `liveAt`, every row). */
const isLive = (row: ArtifactRow, liveAt: Date | undefined) => !liveAt || row.expiresAt === null || row.expiresAt > liveAt;

interface ArtifactKey {
  readonly model: string;
  readonly id: string;
}

export function createArtifactRepository({ prisma }: Pick<Database, 'prisma'>) {
  /**
   * The rows of every (model, id) asked for in the same tick, by one
   * statement; null for each one not stored. DataLoader does the gathering;
   * its cache is off, because an artifact read must see the writes made since.
   */
  const byKey = new DataLoader(
    async (keys: readonly ArtifactKey[]): Promise<(ArtifactRow | null)[]> => {
      const wanted = join(keys.map(({ model, id }) => sql`("model" = ${model} AND "id" = ${id})`), ' OR ');
      const rows = await prisma.$queryRaw<ArtifactRow[]>(sql`SELECT * FROM "OidcArtifact" WHERE ${wanted}`);
      return keys.map(({ model, id }) => rows.find((row) => row.model === model && row.id === id) ?? null);
    },
    // Bounded, so a burst of requests never builds one huge statement.
    { cache: false, maxBatchSize: 100 },
  );

  /** The newest row by uid or user code; with `liveAt`, only one not expired then. */
  async function lookUp(by: keyof typeof BY, model: string, key: string, { liveAt }: ArtifactLookup): Promise<ArtifactRow | null> {
    const live = liveAt ? sql` AND ("expiresAt" IS NULL OR "expiresAt" > ${liveAt})` : empty;
    // User codes are short, so two live ones may collide; the newest wins, as in oidc-provider's own in-memory adapter.
    const rows = await prisma.$queryRaw<ArtifactRow[]>(sql`SELECT * FROM "OidcArtifact" WHERE "model" = ${model} AND ${BY[by]} = ${key}${live} ORDER BY "expiresAt" DESC LIMIT 1`);
    return rows[0] ?? null;
  }

  return {
    /** Replaces the artifact's payload and columns; a consumedAt or sealedForPredecessor already set is kept. */
    async upsert(model: string, id: string, artifact: ArtifactWrite): Promise<void> {
      const { payload, grantId = null, accountId = null, uid = null, userCode = null, expiresAt = null, sealedForPredecessor = null } = artifact;
      // A consumedAt (and sealedForPredecessor) already set is kept: only the columns oidc-provider writes are replaced.
      await prisma.$executeRaw`INSERT INTO "OidcArtifact" ("model", "id", "payload", "grantId", "accountId", "uid", "userCode", "expiresAt", "sealedForPredecessor")
        VALUES (${model}, ${id}, ${payload}, ${grantId}, ${accountId}, ${uid}, ${userCode}, ${expiresAt}, ${sealedForPredecessor})
        ON CONFLICT ("model", "id") DO UPDATE SET "payload" = excluded."payload", "grantId" = excluded."grantId", "accountId" = excluded."accountId",
          "uid" = excluded."uid", "userCode" = excluded."userCode", "expiresAt" = excluded."expiresAt"`;
    },

    async find(model: string, id: string, { liveAt }: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      const row = await byKey.load({ model, id });
      return row && isLive(row, liveAt) ? row : null;
    },

    findByUid(model: string, uid: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return lookUp('uid', model, uid, lookup);
    },

    findByUserCode(model: string, userCode: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return lookUp('userCode', model, userCode, lookup);
    },

    /** Marks the artifact consumed unless it already was; returns whether this call did (false also when there is no such row). */
    async consume(model: string, id: string, at: Date): Promise<boolean> {
      // Conditional, so that of any number of requests consuming one artifact
      // at once exactly one changes the row: on PostgreSQL the others wait for
      // its row lock, then find "consumedAt" set and change nothing.
      const changed = await prisma.$executeRaw`UPDATE "OidcArtifact" SET "consumedAt" = ${at} WHERE "model" = ${model} AND "id" = ${id} AND "consumedAt" IS NULL`;
      return changed > 0;
    },

    /**
     * The grant's artifacts of `model` that carry a seal for their
     * predecessor, unconsumed or consumed since `consumedSince`: a retried
     * refresh's candidates for its successor. A rare path (a retry), so a
     * model query.
     */
    async findSealedForPredecessor(model: string, grantId: string, { consumedSince }: { consumedSince: Date }) {
      const rows = await prisma.oidcArtifact.findMany({
        where: { model, grantId, sealedForPredecessor: { not: null }, OR: [{ consumedAt: null }, { consumedAt: { gte: consumedSince } }] },
        select: { id: true, sealedForPredecessor: true, consumedAt: true, expiresAt: true },
      });
      return rows.map((row) => ({ ...row, sealedForPredecessor: row.sealedForPredecessor! }));
    },

    async destroy(model: string, id: string): Promise<void> {
      await prisma.$executeRaw`DELETE FROM "OidcArtifact" WHERE "model" = ${model} AND "id" = ${id}`;
    },

    /** Deletes every artifact, of any model, issued under the grant. */
    async revokeByGrantId(grantId: string): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { grantId } });
      return count;
    },

    /**
     * Deletes every artifact of the account: its sessions, its grants and the
     * codes and tokens issued under them (each carries the accountId too).
     */
    async revokeByAccountId(accountId: string): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { accountId } });
      return count;
    },

    /**
     * Deletes rows whose expiresAt is before `before`, PURGE_BATCH_SIZE rows per
     * batch, at most `limit` in all. Returns how many were deleted.
     */
    purgeExpired(before: Date, limit?: number): Promise<number> {
      const expired = { expiresAt: { lt: before } };
      return purgeInBatches(
        {
          find: (take) => prisma.oidcArtifact.findMany({ where: expired, select: { model: true, id: true }, take }),
          async delete(keys) {
            const idsByModel = new Map<string, string[]>();
            for (const { model, id } of keys) idsByModel.set(model, [...(idsByModel.get(model) ?? []), id]);
            let deleted = 0;
            for (const [model, ids] of idsByModel) {
              // The expiry is checked again: a row re-saved with a later expiry since the find stays.
              const { count } = await prisma.oidcArtifact.deleteMany({ where: { model, id: { in: ids }, ...expired } });
              deleted += count;
            }
            return deleted;
          },
        },
        limit,
      );
    },
  };
}

export type ArtifactRepository = ReturnType<typeof createArtifactRepository>;
