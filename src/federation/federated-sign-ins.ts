// Which upstream a federated sign-in went through, for the `idp` claim of the
// ID tokens issued from it. oidc-provider carries only acr, amr and auth_time
// from a sign-in to its codes and refresh tokens (and amr says `fed`, not
// which provider), so the provider is written down here at the sign-in, keyed
// by the account and the sign-in's time (the auth_time every token of that
// sign-in carries: the login result's `ts`), and read back when an ID token
// is made from a code or refresh token whose amr has `fed`. Nothing else
// pays for it: a password sign-in never looks.
//
// The record lives in the artifact table (model FederatedSignIn, keyed by the
// digest of its key like every artifact) as long as any token of the sign-in
// can be refreshed, and goes with the account's other artifacts when they end.
import { artifactKey } from '../oidc/artifact-key.ts';
import type { ArtifactRepository } from '../oidc/artifact-repository.ts';

export const FEDERATED_SIGN_IN = 'FederatedSignIn';

/** What the ID token says about the upstream: its display name at the time of the sign-in. */
export interface SignInProvider {
  readonly name: string;
  readonly slug: string;
}

export interface FederatedSignInsDeps {
  readonly artifacts: Pick<ArtifactRepository, 'upsert' | 'find'>;
  /** Seconds a record is kept: the longest a token of the sign-in can be refreshed. */
  readonly ttlSeconds: number;
  readonly now?: () => number;
}

const keyOf = (accountId: string, authTime: number) => artifactKey(`${accountId}:${authTime}`);

export function createFederatedSignIns({ artifacts, ttlSeconds, now = Date.now }: FederatedSignInsDeps) {
  return {
    /** Before the login result is stored: `authTime` (seconds) is the `ts` it will carry. */
    async record(accountId: string, authTime: number, provider: SignInProvider): Promise<void> {
      await artifacts.upsert(FEDERATED_SIGN_IN, keyOf(accountId, authTime), {
        payload: JSON.stringify({ name: provider.name, slug: provider.slug }),
        accountId,
        expiresAt: new Date(now() + ttlSeconds * 1000),
      });
    },

    /** The provider of the sign-in of `accountId` at `authTime`, if it was a federated one. */
    async find(accountId: string, authTime: number): Promise<SignInProvider | undefined> {
      const row = await artifacts.find(FEDERATED_SIGN_IN, keyOf(accountId, authTime), { liveAt: new Date(now()) });
      if (!row) return undefined;
      const payload = JSON.parse(row.payload) as Partial<SignInProvider>;
      return typeof payload.name === 'string' && typeof payload.slug === 'string' ? { name: payload.name, slug: payload.slug } : undefined;
    },
  };
}

export type FederatedSignIns = ReturnType<typeof createFederatedSignIns>;
