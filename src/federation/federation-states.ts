// The round trip's `state` as a single-use record, so that of two callbacks
// carrying it at the same moment (a double request, or a replay racing the
// real one) exactly one redeems the upstream's code. The interaction's own
// "spent" stage (federation-held.ts) is read and then written, which two
// requests in flight can both pass; and an upstream that sees its code twice
// revokes what it issued for it, so the person's own sign-in would fail too.
// The state is kept as its digest in the artifact table, used up by one
// conditional update (consumedAt IS NULL), as every single-use artifact is;
// it expires with the federation cookie and the purger removes it.
import { artifactKey } from '../oidc/artifact-key.ts';
import type { ArtifactRepository } from '../oidc/artifact-repository.ts';
import { FEDERATION_COOKIE_MAX_AGE_MS } from './federation-cookie.ts';

export const FEDERATION_STATE = 'FederationState';

export interface FederationStatesDeps {
  readonly artifacts: Pick<ArtifactRepository, 'upsert' | 'consume'>;
  readonly now?: () => Date;
}

export function createFederationStates({ artifacts, now = () => new Date() }: FederationStatesDeps) {
  return {
    /** At the start of a round trip: `state` may be used once, until the cookie that carries it expires. */
    async issue(state: string): Promise<void> {
      await artifacts.upsert(FEDERATION_STATE, artifactKey(state), { payload: '{}', expiresAt: new Date(now().getTime() + FEDERATION_COOKIE_MAX_AGE_MS) });
    },

    /** At the callback: whether this request is the one that uses `state` (false for every other, and for a state never issued). */
    use(state: string): Promise<boolean> {
      return artifacts.consume(FEDERATION_STATE, artifactKey(state), now());
    },
  };
}

export type FederationStates = ReturnType<typeof createFederationStates>;
