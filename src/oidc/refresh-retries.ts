// A refresh whose answer the client lost (a dropped connection, a timeout)
// and which it retries inside LATCHKEY_REFRESH_REUSE_GRACE gets the same
// successor refresh token again, instead of having the whole grant revoked
// as a reuse, as Hydra and Auth0 do.
//
// The link costs the refresh no statement of its own: the successor's own
// INSERT carries its id sealed for the token it replaces (refresh-link.ts,
// column sealedForPredecessor). The database holds both tokens only as
// digests, so only a caller presenting the predecessor can open that link.
// A retry looks through its grant's recent refresh tokens for the link it
// opens, and is answered by refreshing the
// successor without rotating it (single-use-grants.ts): a fresh access
// token, the same successor refresh token. It is answered only while the
// successor is still unused: once that has been refreshed, the client
// plainly got the answer, and the old token coming back is a copy, which
// revokes as always.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ArtifactConsumedError } from '../errors.ts';
import type { ArtifactRepository } from './artifact-repository.ts';
import { openLink, sealLink } from './refresh-link.ts';

const MODEL = 'RefreshToken';

/** What a consumed refresh token presented again gets: its unused successor, or invalid_grant, with or without revoking the grant. */
export type RetryDecision = { readonly successor: string; readonly revoke?: undefined } | { readonly successor?: undefined; readonly revoke: boolean };

export interface RefreshRetriesDeps {
  readonly artifacts: Pick<ArtifactRepository, 'findSealedForPredecessor'>;
  /** Seconds after its use in which a refresh token's retry is answered; 0 = never. */
  readonly graceSeconds: number;
  readonly now?: () => number;
}

export function createRefreshRetries({ artifacts, graceSeconds, now = Date.now }: RefreshRetriesDeps) {
  const enabled = graceSeconds > 0;
  // Token requests answering a retry: their refresh must not rotate the successor again.
  const answering = new WeakSet<KoaContextWithOIDC>();

  return {
    /**
     * For the adapter, saving a refresh token: its id sealed for the token
     * this request presented, when the request is a refresh (the rotation
     * saving the successor), or null.
     */
    sealForPredecessor(ctx: KoaContextWithOIDC | undefined, model: string, id: string): string | null {
      if (!enabled || model !== MODEL || ctx?.oidc?.route !== 'token') return null;
      const params = ctx.oidc.params;
      const predecessor = params?.grant_type === 'refresh_token' ? params.refresh_token : undefined;
      return typeof predecessor === 'string' ? sealLink(predecessor, id) : null;
    },

    /** oidc-provider's rotateRefreshToken: always, except when answering a retry. */
    rotates(ctx: KoaContextWithOIDC): boolean {
      return !answering.has(ctx);
    },

    /** Marks the request as answering a retry, so its refresh of the successor does not rotate it. */
    answerWithoutRotating(ctx: KoaContextWithOIDC): void {
      answering.add(ctx);
    },

    /**
     * What `presented`, a refresh token `consumed` says was consumed before,
     * gets: its successor, when inside the grace and still unused; else
     * invalid_grant, revoking the grant unless the token is gone already or
     * its first request is still running inside the grace (the successor is
     * not saved yet: a parallel loser).
     */
    async decide(presented: string, consumed: ArtifactConsumedError): Promise<RetryDecision> {
      const row = consumed.row;
      if (!row) return { revoke: false };
      const consumedAt = row.consumedAt ?? new Date(now());
      if (!enabled || now() - consumedAt.getTime() > graceSeconds * 1000) return { revoke: true };
      if (!row.grantId) return { revoke: true };
      // The successor was saved by the request that consumed `presented`, so it can only have been consumed after.
      for (const candidate of await artifacts.findSealedForPredecessor(MODEL, row.grantId, { consumedSince: consumedAt })) {
        const successor = openLink(presented, candidate.sealedForPredecessor, candidate.id);
        if (successor === undefined) continue;
        const usable = !candidate.consumedAt && (!candidate.expiresAt || candidate.expiresAt.getTime() > now());
        return usable ? { successor } : { revoke: true };
      }
      return { revoke: false };
    },
  };
}

export type RefreshRetries = ReturnType<typeof createRefreshRetries>;
