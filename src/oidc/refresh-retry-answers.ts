// Keeps the answer a refresh got, so that a client which lost it (a dropped
// connection, a timeout) and retries inside LATCHKEY_REFRESH_REUSE_GRACE
// gets the same answer, the same successor refresh token, instead of having
// the whole grant revoked as a reuse, as Hydra and Auth0 do. The answer is
// kept on the consumed token's row, sealed under a key derived from that
// token (bearer-seal.ts): the database holds the token only as a digest, so
// only a caller presenting the token can read the answer. It is replayed
// only while the successor it names is still unused: once that has been
// refreshed, the client plainly got the answer, and the old token coming
// back is a copy, which revokes as always.
import type { ArtifactConsumedError } from '../errors.ts';
import { artifactKey } from './artifact-key.ts';
import type { ArtifactRepository } from './artifact-repository.ts';
import { openForBearer, sealForBearer } from './bearer-seal.ts';

const MODEL = 'RefreshToken';

export interface TokenAnswer {
  readonly refresh_token?: string;
  readonly expires_in?: number;
  readonly [field: string]: unknown;
}

export type RetryDecision = { readonly replay: TokenAnswer; readonly revoke?: undefined } | { readonly replay?: undefined; readonly revoke: boolean };

export interface RefreshRetryAnswersDeps {
  readonly artifacts: Pick<ArtifactRepository, 'keepRetryAnswer' | 'find'>;
  /** Seconds after its use in which a refresh token's retry is answered; 0 = never. */
  readonly graceSeconds: number;
  readonly now?: () => number;
}

export function createRefreshRetryAnswers({ artifacts, graceSeconds, now = Date.now }: RefreshRetryAnswersDeps) {
  return {
    enabled: graceSeconds > 0,

    /** Keeps `answer`, the token response for refreshing `presented`, on that token's row. */
    async keep(presented: string, answer: TokenAnswer): Promise<void> {
      const key = artifactKey(presented);
      await artifacts.keepRetryAnswer(MODEL, key, sealForBearer(presented, JSON.stringify({ at: now(), answer }), key));
    },

    /**
     * What `presented`, a refresh token `consumed` says was consumed before,
     * gets: its first answer again (kept, inside the grace, and naming a
     * successor still unused; expires_in counting down from the first
     * answer), or invalid_grant, revoking the grant unless the token is gone
     * already or its first request is still running inside the grace.
     */
    async decide(presented: string, consumed: ArtifactConsumedError): Promise<RetryDecision> {
      const row = consumed.row;
      if (!row) return { revoke: false };
      const inGrace = graceSeconds > 0 && now() - (row.consumedAt?.getTime() ?? now()) <= graceSeconds * 1000;
      if (!inGrace) return { revoke: true };
      if (!row.retryAnswer) return { revoke: false };
      const opened = openForBearer(presented, row.retryAnswer, artifactKey(presented));
      if (opened === undefined) return { revoke: true };
      const { at, answer } = JSON.parse(opened) as { at: number; answer: TokenAnswer };
      if (typeof answer.refresh_token !== 'string') return { revoke: true };
      const successor = await artifacts.find(MODEL, artifactKey(answer.refresh_token), { liveAt: new Date(now()) });
      if (!successor || successor.consumedAt) return { revoke: true };
      const elapsed = Math.floor((now() - at) / 1000);
      return { replay: typeof answer.expires_in === 'number' ? { ...answer, expires_in: Math.max(0, answer.expires_in - elapsed) } : answer };
    },
  };
}

export type RefreshRetryAnswers = ReturnType<typeof createRefreshRetryAnswers>;
