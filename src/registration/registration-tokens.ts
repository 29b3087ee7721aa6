// The bearer tokens of dynamic client registration: initial access tokens
// (RFC 7591 §3, made by `latchkey registration token create`, each good for
// one registration until it expires) and registration access tokens
// (RFC 7592 §3, one per registered client, for reading, changing and
// deleting it). Both live in oidc-provider's artifact table under the model
// names oidc-provider itself gives them, keyed like every artifact by the
// SHA-256 digest of the token (artifact-key.ts): the table holds no working
// token. An initial access token also has a public handle (its `uid`), which
// the CLI lists and revokes it by.
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../errors.ts';
import { artifactKey } from '../oidc/artifact-key.ts';
import type { ArtifactRow, createArtifactRepository } from '../oidc/artifact-repository.ts';

type Artifacts = Pick<ReturnType<typeof createArtifactRepository>, 'upsert' | 'find' | 'findByUid' | 'consume' | 'destroy' | 'listByModel'>;

export const INITIAL_ACCESS_TOKEN = 'InitialAccessToken';
export const REGISTRATION_ACCESS_TOKEN = 'RegistrationAccessToken';

/** One day: long enough to hand a token to whoever registers, short enough that a forgotten one stops working. */
export const DEFAULT_INITIAL_ACCESS_TOKEN_TTL = 86_400;
/** A year at most: an initial access token is a credential, and one that never expires is forgotten, not revoked. */
export const MAX_INITIAL_ACCESS_TOKEN_TTL = 365 * 86_400;

export interface InitialAccessTokenView {
  /** The public handle (`iat_…`): names the token, opens nothing. */
  readonly id: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** When it was used for a registration; it works once. */
  readonly usedAt: Date | null;
  readonly status: 'active' | 'used' | 'expired';
}

export type InitialAccessTokenCheck =
  | { readonly valid: true; /** The digest to consume once the registration has succeeded. */ readonly key: string; readonly id: string }
  | { readonly valid: false };

interface InitialPayload {
  readonly handle: string;
  readonly createdAt: string;
}

interface RegistrationPayload {
  readonly clientId: string;
}

export function createRegistrationTokens({ artifacts, now = () => new Date() }: { readonly artifacts: Artifacts; readonly now?: () => Date }) {
  function view(row: ArtifactRow): InitialAccessTokenView {
    const payload = JSON.parse(row.payload) as InitialPayload;
    const expiresAt = row.expiresAt!;
    const status = row.consumedAt ? 'used' : expiresAt <= now() ? 'expired' : 'active';
    return { id: payload.handle, createdAt: new Date(payload.createdAt), expiresAt, usedAt: row.consumedAt, status };
  }

  return {
    /** A new initial access token, returned in clear this once. */
    async createInitial(expiresInSeconds: number = DEFAULT_INITIAL_ACCESS_TOKEN_TTL): Promise<{ token: string; view: InitialAccessTokenView }> {
      const token = randomBytes(32).toString('base64url');
      const handle = `iat_${randomBytes(9).toString('base64url')}`;
      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + expiresInSeconds * 1000);
      await artifacts.upsert(INITIAL_ACCESS_TOKEN, artifactKey(token), { payload: JSON.stringify({ handle, createdAt: createdAt.toISOString() } satisfies InitialPayload), uid: handle, expiresAt });
      return { token, view: { id: handle, createdAt, expiresAt, usedAt: null, status: 'active' } };
    },

    async listInitial(): Promise<InitialAccessTokenView[]> {
      return (await artifacts.listByModel(INITIAL_ACCESS_TOKEN)).map(view);
    },

    /** Deletes the token with this handle: it stops working at once. */
    async revokeInitial(handle: string): Promise<InitialAccessTokenView> {
      const row = await artifacts.findByUid(INITIAL_ACCESS_TOKEN, handle);
      if (!row) throw new NotFoundError(`initial access token ${handle} does not exist`);
      await artifacts.destroy(INITIAL_ACCESS_TOKEN, row.id);
      return view(row);
    },

    /** Whether `token` is an unexpired, unused initial access token (it is not used up here: see consumeInitial). */
    async checkInitial(token: string): Promise<InitialAccessTokenCheck> {
      const key = artifactKey(token);
      const row = await artifacts.find(INITIAL_ACCESS_TOKEN, key, { liveAt: now() });
      if (!row || row.consumedAt) return { valid: false };
      return { valid: true, key, id: (JSON.parse(row.payload) as InitialPayload).handle };
    },

    /** Uses the token up; false when another registration did first (the database decides, one conditional update). */
    consumeInitial(key: string): Promise<boolean> {
      return artifacts.consume(INITIAL_ACCESS_TOKEN, key, now());
    },

    /** A registration access token for `clientId`, returned in clear this once; it lasts as long as the client. */
    async issueRegistration(clientId: string): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      await artifacts.upsert(REGISTRATION_ACCESS_TOKEN, artifactKey(token), { payload: JSON.stringify({ clientId } satisfies RegistrationPayload), uid: clientId });
      return token;
    },

    /** Whether `token` is the registration access token of `clientId`. */
    async matchesRegistration(token: string, clientId: string): Promise<boolean> {
      const row = await artifacts.find(REGISTRATION_ACCESS_TOKEN, artifactKey(token));
      return row !== null && (JSON.parse(row.payload) as RegistrationPayload).clientId === clientId;
    },

    /** Whether `clientId` was registered over /reg (it has a registration access token): its back-channel URI may not reach special-use addresses (backchannel/logout-delivery.ts). */
    async isRegistered(clientId: string): Promise<boolean> {
      return (await artifacts.findByUid(REGISTRATION_ACCESS_TOKEN, clientId)) !== null;
    },

    /** Removes a registration access token (its client is gone). */
    revokeRegistration(token: string): Promise<void> {
      return artifacts.destroy(REGISTRATION_ACCESS_TOKEN, artifactKey(token));
    },
  };
}

export type RegistrationTokens = ReturnType<typeof createRegistrationTokens>;
