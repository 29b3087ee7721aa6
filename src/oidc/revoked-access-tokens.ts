// The revocation list for JWT access tokens: the `jti` of each revoked token,
// kept until the token would have expired anyway. It lives in the artifact
// table as model 'RevokedAccessToken' (id = jti, expiresAt = exp), so the
// artifact purger deletes each entry once it no longer matters and the list
// never outgrows the tokens still in circulation. A write happens only on
// revocation, never on issue.
import type { ArtifactRepository } from './artifact-repository.ts';
import { isLookupKey } from './adapter.ts';

export const REVOKED_ACCESS_TOKEN_MODEL = 'RevokedAccessToken';

export interface RevokedAccessTokensDeps {
  readonly artifacts: Pick<ArtifactRepository, 'upsert' | 'find'>;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export function createRevokedAccessTokens(deps: RevokedAccessTokensDeps) {
  const { artifacts } = deps;
  const now = deps.now ?? Date.now;

  return {
    /** Records the token as revoked until `exp` (seconds since the epoch). Revoking twice is harmless. */
    async revoke(token: { jti: string; exp: number; clientId: string }): Promise<void> {
      if (!isLookupKey(token.jti)) throw new TypeError('a revoked token needs a jti of at most 1024 characters');
      await artifacts.upsert(REVOKED_ACCESS_TOKEN_MODEL, token.jti, {
        payload: JSON.stringify({ jti: token.jti, clientId: token.clientId, exp: token.exp, revokedAt: Math.floor(now() / 1000) }),
        expiresAt: new Date(token.exp * 1000),
      });
    },

    async isRevoked(jti: string): Promise<boolean> {
      if (!isLookupKey(jti)) return false;
      return (await artifacts.find(REVOKED_ACCESS_TOKEN_MODEL, jti, { liveAt: new Date(now()) })) !== null;
    },
  };
}

export type RevokedAccessTokens = ReturnType<typeof createRevokedAccessTokens>;
