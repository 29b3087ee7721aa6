// oidc-provider's storage adapter: every artifact goes to the OidcArtifact
// table through the artifact repository, except clients, which are read from
// the client registry (dynamic registration is off, so they are never written).
//
// No bearer value is stored as it is. Rows are keyed by the digest of
// oidc-provider's id (artifact-key.ts), and so are user codes; the payload is
// stored without its copy of the id (jti), which find(id) puts back from the
// id it was asked for; and the other bearer values a payload names
// (SEALED_FIELDS) are sealed under the artifact's own id (bearer-seal.ts).
// Grant ids and session uids stay clear: neither opens anything
// (grant-reference.ts).
//
// Consuming is conditional (artifact-repository.ts): when the artifact was
// consumed already, consume() throws instead of succeeding a second time.
import { errors, type Adapter, type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import { ArtifactConsumedError } from '../errors.ts';
import { artifactKey } from './artifact-key.ts';
import type { ArtifactRepository, ArtifactRow } from './artifact-repository.ts';
import { openForBearer, sealForBearer } from './bearer-seal.ts';
import { currentRedemption } from './redemption-scope.ts';

export interface ProviderClientSource {
  /** The client's oidc-provider metadata, or undefined when there is no such client. */
  findProviderMetadata(clientId: string): Promise<Record<string, unknown> | undefined>;
}

export interface AdapterDeps {
  readonly artifacts: ArtifactRepository;
  readonly clients: ProviderClientSource;
  /** A refresh token's id sealed for the token the redeeming request presented, when it is saved by a refresh (refresh-retries.ts). */
  readonly sealForPredecessor?: (ctx: KoaContextWithOIDC | undefined, model: string, id: string) => string | null;
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
    name === 'Client' ? createClientAdapter(deps.clients) : createArtifactAdapter(name, deps, now);
}

/**
 * The models the token endpoint redeems exactly once. While a single-use
 * wrapper redeems one (redemption-scope.ts), the consume statement alone
 * decides whether it was used before (single-use-grants.ts answers a lost
 * race and a reuse alike), so find() leaves `consumed` out and
 * oidc-provider's own check, made several awaits before the consume, never
 * fires. Everywhere else (introspection, revocation) it is kept.
 */
const REDEEMED_AT_TOKEN_ENDPOINT = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode']);

/**
 * Payload fields holding bearer values (an interaction's session cookie
 * value, PAR and device code; a device code's user code): sealed under this
 * artifact's own id, so only find(id) opens them.
 */
/**
 * A device code's own id, sealed under its user code: the one way from the
 * code a person types to the row oidc-provider saves the approval in. A user
 * code has about 35 bits, so unlike the other seals this one yields to an
 * offline search of a stolen copy of the database, within the code's
 * minutes of life (LATCHKEY_DEVICE_CODE_TTL) and only for a code still
 * waiting for its person.
 */
const ID_FOR_USER_CODE = 'idForUserCode';

/** oidc-provider's model of ids seen once (DPoP proofs, client assertions): found by claiming (claimOnce). */
const REPLAY_DETECTION = 'ReplayDetection';
const CLAIM_TTL_MS = 3_600_000;

const SEALED_FIELDS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  Interaction: [['session', 'cookie'], ['parJti'], ['deviceCode']],
  DeviceCode: [['userCode']],
};

function createArtifactAdapter(model: string, { artifacts, sealForPredecessor }: AdapterDeps, now: () => number): Adapter {
  // A device code past its expiry is still found, until the purge removes it:
  // oidc-provider answers it by name (RFC 8628 expired_token; the "expired"
  // page at /device) instead of as an unknown code.
  const liveNow = model === 'DeviceCode' ? () => ({}) : () => ({ liveAt: new Date(now()) });
  const sealed = SEALED_FIELDS[model] ?? [];
  const redeemedOnce = REDEEMED_AT_TOKEN_ENDPOINT.has(model);

  /**
   * The payload oidc-provider gets back, completed from what it presented:
   * the id (found by id), or the user code (found by user code). Found by
   * uid or user code, an artifact comes back without its id and sealed
   * fields: only their bearer holds those (a session found by uid is only
   * read, never saved, by oidc-provider; provider-contract.test.ts).
   */
  function toPayload(row: ArtifactRow | null, presented: { id?: string; userCode?: string }): AdapterPayload | undefined {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload & Record<string, unknown>;
    // A device code found by its user code (the person at /device) is saved
    // again by oidc-provider under its id, so the id comes back: sealed for
    // the user code, which only whoever typed it has.
    const sealedId = payload[ID_FOR_USER_CODE];
    delete payload[ID_FOR_USER_CODE];
    if (presented.id === undefined && presented.userCode !== undefined && typeof sealedId === 'string') {
      const id = openForBearer(presented.userCode, sealedId, row.id);
      if (id !== undefined) presented = { ...presented, id };
    }
    for (const path of sealed) openField(payload, path, presented.id, row.id);
    if (presented.id !== undefined) payload.jti = presented.id;
    if (presented.userCode !== undefined) payload.userCode = presented.userCode;
    if (row.consumedAt && !(redeemedOnce && currentRedemption())) payload.consumed = Math.floor(row.consumedAt.getTime() / 1000);
    return payload;
  }

  /**
   * oidc-provider's ReplayDetection.unique() (a DPoP proof's jti, a client
   * assertion's) is find() then save(), two awaits apart: requests replaying
   * one proof at once could all find nothing and all pass (on PostgreSQL, two
   * of 20 parallel requests with one proof got tokens). So its find() is the
   * claim: the first request to insert the id finds nothing and goes on to
   * save() (which replaces the claim's row with the real one); every other
   * one finds it, and oidc-provider refuses it with its own error. The claim
   * lives an hour if the save never comes (the request failed in between).
   */
  async function claimOnce(id: string): Promise<AdapterPayload | undefined> {
    const at = new Date(now());
    const claimed = await artifacts.claim(model, artifactKey(id), { payload: '{}', expiresAt: new Date(at.getTime() + CLAIM_TTL_MS) }, at);
    return claimed ? undefined : { jti: id };
  }

  return {
    async upsert(id, payload, expiresIn) {
      if (!isLookupKey(id)) throw new Error(`${model} id must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
      const key = artifactKey(id);
      const stored: Record<string, unknown> = { ...payload };
      if (stored.jti === id) delete stored.jti;
      for (const path of sealed) sealField(stored, path, id, key);
      if (model === 'DeviceCode' && typeof payload.userCode === 'string') stored[ID_FOR_USER_CODE] = sealForBearer(payload.userCode, id, key);
      await artifacts.upsert(model, key, {
        payload: JSON.stringify(stored),
        grantId: column(model, 'grantId', payload.grantId),
        // Sessions, grants, codes and tokens name their account: a password change ends them by it.
        accountId: column(model, 'accountId', payload.accountId),
        uid: column(model, 'uid', payload.uid),
        userCode: digestColumn(model, 'userCode', payload.userCode),
        expiresAt: typeof expiresIn === 'number' ? new Date(now() + expiresIn * 1000) : null,
        sealedForPredecessor: sealForPredecessor?.(currentRedemption(), model, id) ?? null,
      });
    },

    async find(id) {
      if (!isLookupKey(id)) return undefined;
      if (model === REPLAY_DETECTION) return claimOnce(id);
      return toPayload(await artifacts.find(model, artifactKey(id), liveNow()), { id });
    },

    async findByUid(uid) {
      if (!isLookupKey(uid)) return undefined;
      return toPayload(await artifacts.findByUid(model, uid, liveNow()), {});
    },

    async findByUserCode(userCode) {
      if (!isLookupKey(userCode)) return undefined;
      return toPayload(await artifacts.findByUserCode(model, artifactKey(userCode), liveNow()), { userCode });
    },

    async consume(id) {
      if (!isLookupKey(id)) return;
      const key = artifactKey(id);
      if (await artifacts.consume(model, key, new Date(now()))) return;
      // Lost: consumed before, or gone. One more read, on this path only, says what to answer.
      const row = await artifacts.find(model, key);
      if (redeemedOnce) {
        // Gone counts too: a code whose grant a parallel redemption has just revoked must not issue tokens.
        throw new ArtifactConsumedError(model, row ? { consumedAt: row.consumedAt, grantId: row.grantId } : undefined);
      }
      if (!row) return;
      // Nothing wraps the other single-use artifacts' handlers: answer as oidc-provider itself would.
      throw model === 'PushedAuthorizationRequest' ? new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used') : new errors.InvalidGrant(`${model} already consumed`);
    },

    async destroy(id) {
      if (!isLookupKey(id)) return;
      await artifacts.destroy(model, artifactKey(id));
    },

    async revokeByGrantId(grantId) {
      if (!isLookupKey(grantId)) return;
      await artifacts.revokeByGrantId(grantId);
    },
  };
}

/** Replaces the string at `path` by its sealed form (bound to the row's key), or leaves it out if it is not a string. */
function sealField(payload: Record<string, unknown>, path: readonly string[], id: string, key: string): void {
  const parent = parentOf(payload, path, true);
  const field = path[path.length - 1]!;
  if (!parent || parent[field] === undefined) return;
  const value = parent[field];
  if (typeof value === 'string') parent[field] = sealForBearer(id, value, key);
  else delete parent[field];
}

/** Opens the sealed string at `path` with the artifact's id; without the id, or one that does not open, the field is left out. */
function openField(payload: Record<string, unknown>, path: readonly string[], id: string | undefined, key: string): void {
  const parent = parentOf(payload, path, false);
  const field = path[path.length - 1]!;
  if (!parent || parent[field] === undefined) return;
  const value = parent[field];
  const opened = typeof value === 'string' && id !== undefined ? openForBearer(id, value, key) : undefined;
  if (opened === undefined) delete parent[field];
  else parent[field] = opened;
}

/** The object holding the path's last field; with `copy`, copied on the way down so the caller's payload is not changed. */
function parentOf(payload: Record<string, unknown>, path: readonly string[], copy: boolean): Record<string, unknown> | undefined {
  let parent = payload;
  for (const step of path.slice(0, -1)) {
    const child = parent[step];
    if (!child || typeof child !== 'object') return undefined;
    parent = parent[step] = copy ? { ...(child as Record<string, unknown>) } : (child as Record<string, unknown>);
  }
  return parent;
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

/** A bearer-ish payload field for its indexed column: checked as `column`, stored as its digest. */
function digestColumn(model: string, field: string, value: unknown): string | null {
  const clear = column(model, field, value);
  return clear === null ? null : artifactKey(clear);
}
