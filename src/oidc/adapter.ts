// oidc-provider's storage adapter: every artifact goes to the OidcArtifact
// table through the artifact repository, except clients, which are read from
// the client registry (dynamic registration is off, so they are never written).
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ArtifactRepository } from './artifact-repository.ts';

export interface ProviderClientSource {
  /** The client's oidc-provider metadata, or undefined when there is no such client. */
  findProviderMetadata(clientId: string): Promise<Record<string, unknown> | undefined>;
}

export interface AdapterDeps {
  readonly artifacts: ArtifactRepository;
  readonly clients: ProviderClientSource;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  readonly now?: () => number;
}

/**
 * Longest id, uid, user code or grant id looked up. oidc-provider's own are
 * tens of characters; anything longer came from a caller and cannot match.
 */
export const MAX_KEY_LENGTH = 1024;

/**
 * Lookup keys reach us from requests (a pasted user code, a cookie's session
 * id), so anything a database might reject (not a string, empty, huge, or with
 * a NUL, which PostgreSQL refuses in text) is treated as "not found" instead.
 */
export function isLookupKey(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KEY_LENGTH && !value.includes('\0');
}

/** Returns the factory oidc-provider's `adapter` option takes: called with a model name, once per model. */
export function createAdapterFactory(deps: AdapterDeps): (name: string) => Adapter {
  const now = deps.now ?? Date.now;
  // An arrow function has no prototype, so oidc-provider calls it as a
  // factory instead of with `new` (lib/helpers/type_validators.js).
  return (name: string): Adapter =>
    name === 'Client' ? createClientAdapter(deps.clients) : createArtifactAdapter(name, deps.artifacts, now);
}

function createArtifactAdapter(model: string, artifacts: ArtifactRepository, now: () => number): Adapter {
  const liveNow = () => ({ liveAt: new Date(now()) });

  return {
    async upsert(id, payload, expiresIn) {
      if (!isLookupKey(id)) throw new Error(`${model} id must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
      await artifacts.upsert(model, id, {
        payload: JSON.stringify(payload),
        grantId: column(model, 'grantId', payload.grantId),
        // Sessions, grants, codes and tokens name their account: a password change ends them by it.
        accountId: column(model, 'accountId', payload.accountId),
        uid: column(model, 'uid', payload.uid),
        userCode: column(model, 'userCode', payload.userCode),
        expiresAt: typeof expiresIn === 'number' ? new Date(now() + expiresIn * 1000) : null,
      });
    },

    async find(id) {
      if (!isLookupKey(id)) return undefined;
      return toPayload(await artifacts.find(model, id, liveNow()));
    },

    async findByUid(uid) {
      if (!isLookupKey(uid)) return undefined;
      return toPayload(await artifacts.findByUid(model, uid, liveNow()));
    },

    async findByUserCode(userCode) {
      if (!isLookupKey(userCode)) return undefined;
      return toPayload(await artifacts.findByUserCode(model, userCode, liveNow()));
    },

    async consume(id) {
      if (!isLookupKey(id)) return;
      await artifacts.consume(model, id, new Date(now()));
    },

    async destroy(id) {
      if (!isLookupKey(id)) return;
      await artifacts.destroy(model, id);
    },

    async revokeByGrantId(grantId) {
      if (!isLookupKey(grantId)) return;
      await artifacts.revokeByGrantId(grantId);
    },
  };
}

function createClientAdapter(clients: ProviderClientSource): Adapter {
  const readOnly = (operation: string) => async () => {
    throw new Error(`Client.${operation} is not supported: clients are managed through the client registry, not oidc-provider`);
  };
  return {
    async find(id) {
      if (!isLookupKey(id)) return undefined;
      return (await clients.findProviderMetadata(id)) as AdapterPayload | undefined;
    },
    async findByUid() {
      return undefined;
    },
    async findByUserCode() {
      return undefined;
    },
    upsert: readOnly('upsert'),
    destroy: readOnly('destroy'),
    consume: readOnly('consume'),
    revokeByGrantId: readOnly('revokeByGrantId'),
  };
}

/**
 * A payload field for its indexed column. A value that could not be stored is
 * refused rather than left out: a grantId missing from its column would let a
 * token survive revocation of its grant.
 */
function column(model: string, field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (!isLookupKey(value)) throw new Error(`${model} ${field} must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  return value;
}

function toPayload(row: { payload: string; consumedAt: Date | null } | null): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumedAt) payload.consumed = Math.floor(row.consumedAt.getTime() / 1000);
  return payload;
}
