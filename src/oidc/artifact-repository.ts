// Database calls for the OidcArtifact table, where every oidc-provider artifact
// (sessions, grants, codes, tokens, interactions…) lives, keyed by (model, id)
// where id is what the adapter hands over (a digest: artifact-key.ts). No
// rules here: what counts as expired or consumed is the adapter's call.
//
// The statements on the sign-in path (find, upsert, consume, destroy: about
// thirty a login) are fixed SQL texts, prepared once beside Prisma
// (db/prepared-statements.ts). Through Prisma, each went through its query
// compiler or at least its raw API and a fresh parse (scratch measurement on
// SQLite: model query 243 µs CPU, raw 83 µs, prepared ~10 µs). Through
// Prisma's raw API again only where no prepared statement can run: an
// in-memory SQLite database, or the moment SQLite is locked. The rare calls
// (purge, revoke by grant or by account) stay model queries.
import type { Database, Models } from '../db/database.ts';
import { BUSY, fromStoredTime, numbered } from '../db/prepared-statements.ts';
import { artifactKey } from './artifact-key.ts';

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

/** A grant as the account page lists it: what one client was allowed. */
export interface AccountGrant {
  /** The Grant row's key (artifact-key.ts): names the grant, opens nothing. */
  readonly key: string;
  readonly clientId: string;
  /** OpenID scopes granted (openid, profile, email, offline_access). */
  readonly scopes: string[];
  /** API scopes granted, by resource indicator. */
  readonly resources: Record<string, string[]>;
  readonly expiresAt: Date | null;
}

/** A signed-in browser of the account, as the account page lists it. */
export interface AccountSession {
  /** The session's uid (oidc-provider's, not its cookie value). */
  readonly uid: string;
  readonly signedInAt: Date | null;
  readonly expiresAt: Date | null;
}

export interface ArtifactLookup {
  /** Only rows that have not expired at this instant (no expiry counts as live). */
  readonly liveAt?: Date;
}

/** Rows deleted per statement by purgeExpired: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

const COLUMNS = '"model", "id", "payload", "grantId", "accountId", "uid", "userCode", "expiresAt", "consumedAt", "sealedForPredecessor"';

/** One row by (model, id), or the newest by uid or user code; with `live`, only rows not expired at the bound instant ("no expiry" counts as live). */
function select(by: 'id' | 'uid' | 'userCode', live: boolean): string {
  const expiry = live ? ' AND ("expiresAt" IS NULL OR "expiresAt" > ?)' : '';
  // User codes are short, so two live ones may collide; the newest wins, as in oidc-provider's own in-memory adapter.
  const newest = by === 'id' ? '' : ' ORDER BY "expiresAt" DESC LIMIT 1';
  return `SELECT ${COLUMNS} FROM "OidcArtifact" WHERE "model" = ? AND "${by}" = ?${expiry}${newest}`;
}

const STATEMENTS = {
  // A consumedAt (and sealedForPredecessor) already set is kept: only the columns oidc-provider writes are replaced.
  upsert: `INSERT INTO "OidcArtifact" ("model", "id", "payload", "grantId", "accountId", "uid", "userCode", "expiresAt", "sealedForPredecessor") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT ("model", "id") DO UPDATE SET "payload" = excluded."payload", "grantId" = excluded."grantId", "accountId" = excluded."accountId", "uid" = excluded."uid",
      "userCode" = excluded."userCode", "expiresAt" = excluded."expiresAt"`,
  find: select('id', false),
  findLive: select('id', true),
  findByUid: select('uid', false),
  findByUidLive: select('uid', true),
  findByUserCode: select('userCode', false),
  findByUserCodeLive: select('userCode', true),
  // Conditional, so that of any number of requests consuming one artifact at
  // once exactly one changes the row: on PostgreSQL the others wait for its
  // row lock, then find "consumedAt" set and change nothing.
  consume: `UPDATE "OidcArtifact" SET "consumedAt" = ? WHERE "model" = ? AND "id" = ? AND "consumedAt" IS NULL`,
  // Inserts the row, or takes over one that has expired (the purge has not
  // reached it yet); a live row is left alone and the count is 0. One
  // statement, so of any number of requests claiming one id at once exactly
  // one counts 1, on both dialects.
  claim: `INSERT INTO "OidcArtifact" ("model", "id", "payload", "expiresAt") VALUES (?, ?, ?, ?)
    ON CONFLICT ("model", "id") DO UPDATE SET "payload" = excluded."payload", "expiresAt" = excluded."expiresAt", "consumedAt" = NULL
    WHERE "OidcArtifact"."expiresAt" IS NOT NULL AND "OidcArtifact"."expiresAt" <= ?`,
  destroy: `DELETE FROM "OidcArtifact" WHERE "model" = ? AND "id" = ?`,
};

/** A row as the prepared statements hand it over: times as text. */
type StoredRow = Omit<ArtifactRow, 'expiresAt' | 'consumedAt'> & { expiresAt: string | null; consumedAt: string | null };

const fromStored = (row: StoredRow): ArtifactRow => ({ ...row, expiresAt: fromStoredTime(row.expiresAt), consumedAt: fromStoredTime(row.consumedAt) });

export function createArtifactRepository({ prisma, dialect, statements }: Pick<Database, 'prisma' | 'dialect' | 'statements'>) {
  const viaPrisma = dialect === 'postgres' ? (Object.fromEntries(Object.entries(STATEMENTS).map(([name, text]) => [name, numbered(text)])) as typeof STATEMENTS) : STATEMENTS;

  async function lookUp(name: 'find' | 'findByUid' | 'findByUserCode', model: string, key: string, { liveAt }: ArtifactLookup): Promise<ArtifactRow | null> {
    const live = `${name}Live` as const;
    if (statements) {
      const row = await (liveAt ? statements.get<StoredRow>(STATEMENTS[live], model, key, liveAt) : statements.get<StoredRow>(STATEMENTS[name], model, key));
      if (row !== BUSY) return row ? fromStored(row) : null;
    }
    const rows = await (liveAt ? prisma.$queryRawUnsafe<ArtifactRow[]>(viaPrisma[live], model, key, liveAt) : prisma.$queryRawUnsafe<ArtifactRow[]>(viaPrisma[name], model, key));
    return rows[0] ?? null;
  }

  async function write(name: 'upsert' | 'consume' | 'claim' | 'destroy', ...params: unknown[]): Promise<number> {
    if (statements) {
      const changes = await statements.run(STATEMENTS[name], ...params);
      if (changes !== BUSY) return changes;
    }
    return prisma.$executeRawUnsafe(viaPrisma[name], ...params);
  }

  return {
    /** Replaces the artifact's payload and columns; a consumedAt or sealedForPredecessor already set is kept. */
    async upsert(model: string, id: string, artifact: ArtifactWrite): Promise<void> {
      await write('upsert', model, id, artifact.payload, artifact.grantId ?? null, artifact.accountId ?? null, artifact.uid ?? null, artifact.userCode ?? null, artifact.expiresAt ?? null, artifact.sealedForPredecessor ?? null);
    },

    find(model: string, id: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return lookUp('find', model, id, lookup);
    },

    findByUid(model: string, uid: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return lookUp('findByUid', model, uid, lookup);
    },

    findByUserCode(model: string, userCode: string, lookup: ArtifactLookup = {}): Promise<ArtifactRow | null> {
      return lookUp('findByUserCode', model, userCode, lookup);
    },

    /** Marks the artifact consumed unless it already was; returns whether this call did (false also when there is no such row). */
    async consume(model: string, id: string, at: Date): Promise<boolean> {
      return (await write('consume', at, model, id)) > 0;
    },

    /**
     * Creates the artifact unless a live one has that id (an expired one is
     * replaced); returns whether this call created it. For ids that must be
     * seen only once (a DPoP proof's or a client assertion's jti).
     */
    async claim(model: string, id: string, artifact: Pick<ArtifactWrite, 'payload'> & { readonly expiresAt: Date }, at: Date): Promise<boolean> {
      return (await write('claim', model, id, artifact.payload, artifact.expiresAt, at)) > 0;
    },

    /**
     * The grant's artifacts of `model` that carry a seal for their
     * predecessor, unconsumed or consumed since `consumedSince`: a retried
     * refresh's candidates for its successor. A rare path (a retry), so a
     * model query.
     */
    /** Every row of `model`, oldest expiry last: for the few operator-made artifacts (registration's initial access tokens). A rare path, so a model query. */
    listByModel(model: string): Promise<ArtifactRow[]> {
      return prisma.oidcArtifact.findMany({ where: { model }, orderBy: { expiresAt: 'desc' } });
    },

    async findSealedForPredecessor(model: string, grantId: string, { consumedSince }: { consumedSince: Date }) {
      const rows = await prisma.oidcArtifact.findMany({
        where: { model, grantId, sealedForPredecessor: { not: null }, OR: [{ consumedAt: null }, { consumedAt: { gte: consumedSince } }] },
        select: { id: true, sealedForPredecessor: true, consumedAt: true, expiresAt: true },
      });
      return rows.map((row) => ({ ...row, sealedForPredecessor: row.sealedForPredecessor! }));
    },

    async destroy(model: string, id: string): Promise<void> {
      await write('destroy', model, id);
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

    /** The account's grants (one per client it allowed), newest first. A cold path: model queries. */
    async listGrants(accountId: string): Promise<AccountGrant[]> {
      const rows = await prisma.oidcArtifact.findMany({ where: { model: 'Grant', accountId }, select: { id: true, payload: true, expiresAt: true }, orderBy: { expiresAt: 'desc' } });
      return rows.map((row) => {
        const payload = JSON.parse(row.payload) as { clientId?: unknown; openid?: { scope?: unknown }; resources?: Record<string, unknown> };
        const words = (value: unknown) => (typeof value === 'string' ? value.split(' ').filter(Boolean) : []);
        return {
          key: row.id,
          clientId: String(payload.clientId ?? ''),
          scopes: words(payload.openid?.scope),
          resources: Object.fromEntries(Object.entries(payload.resources ?? {}).map(([identifier, scope]) => [identifier, words(scope)])),
          expiresAt: row.expiresAt,
        };
      });
    },

    /**
     * Deletes the account's grant stored under `grantKey` and every artifact
     * issued under it (codes, refresh and access tokens). False when the
     * account has no such grant: another account's grant is never touched.
     * Rows carry the grant's id in clear (grantId column) but the Grant row
     * only its digest, so the ids are matched by digest among the account's
     * own rows. A token issued under the grant after that match dies anyway:
     * oidc-provider refuses every token whose Grant is gone.
     */
    async revokeGrant(accountId: string, grantKey: string): Promise<boolean> {
      const grant = await prisma.oidcArtifact.findFirst({ where: { model: 'Grant', id: grantKey, accountId }, select: { id: true } });
      if (!grant) return false;
      const carriers = await prisma.oidcArtifact.findMany({ where: { accountId, grantId: { not: null } }, select: { grantId: true }, distinct: ['grantId'] });
      const grantIds = carriers.map((row) => row.grantId!).filter((grantId) => artifactKey(grantId) === grantKey);
      const [deleted] = await prisma.$transaction([
        prisma.oidcArtifact.deleteMany({ where: { model: 'Grant', id: grantKey, accountId } }),
        prisma.oidcArtifact.deleteMany({ where: { grantId: { in: grantIds } } }),
      ]);
      return deleted.count > 0;
    },

    /** The account's sessions (signed-in browsers), most recent sign-in first. */
    async listSessions(accountId: string): Promise<AccountSession[]> {
      const rows = await prisma.oidcArtifact.findMany({ where: { model: 'Session', accountId }, select: { uid: true, payload: true, expiresAt: true } });
      return rows
        .map((row) => {
          const { loginTs } = JSON.parse(row.payload) as { loginTs?: unknown };
          return { uid: row.uid ?? '', signedInAt: typeof loginTs === 'number' ? new Date(loginTs * 1000) : null, expiresAt: row.expiresAt };
        })
        .sort((a, b) => (b.signedInAt?.getTime() ?? 0) - (a.signedInAt?.getTime() ?? 0));
    },

    /**
     * The clients the account's live sessions (all, or all but the one with
     * uid `exceptUid`) are signed in to, with the sid each was given: whom a
     * back-channel logout is owed when they end (backchannel/session-ends.ts).
     */
    async listSessionClients(accountId: string, { exceptUid, liveAt }: { exceptUid?: string; liveAt: Date }): Promise<{ clientId: string; accountId: string; sid: string | null }[]> {
      const rows = await prisma.oidcArtifact.findMany({
        where: { model: 'Session', accountId, OR: [{ expiresAt: null }, { expiresAt: { gt: liveAt } }], ...(exceptUid !== undefined && { NOT: { uid: exceptUid } }) },
        select: { payload: true },
      });
      return rows.flatMap((row) => {
        const { authorizations } = JSON.parse(row.payload) as { authorizations?: Record<string, { sid?: unknown }> };
        return Object.entries(authorizations ?? {}).map(([clientId, { sid }]) => ({ clientId, accountId, sid: typeof sid === 'string' ? sid : null }));
      });
    },

    /** Deletes the account's sessions except the one with uid `keepUid` (this browser's); returns how many. */
    async endSessionsExcept(accountId: string, keepUid: string): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { model: 'Session', accountId, NOT: { uid: keepUid } } });
      return count;
    },

    /**
     * Like revokeByAccountId, but spares the session with uid `keepUid`: a
     * password changed from the account page ends every other sign-in and
     * every grant and token, and keeps the browser that changed it signed in.
     */
    async revokeByAccountIdExceptSession(accountId: string, keepUid: string): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { accountId, NOT: { model: 'Session', uid: keepUid } } });
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
