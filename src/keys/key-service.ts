// The rules for Latchkey's signing and cookie keys: which exist on first boot,
// which sign and in what order, which are published, and that private material
// is only ever stored sealed. Keys are decrypted once per load and kept in
// memory; reload() picks up changes another process (or key rotation) made.
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { KeyUnavailableError } from '../errors.ts';
import { compareForSigning, isActive } from './key-lifecycle.ts';
import type { KeyQueries, KeyRepository, NewCookieKey, NewSigningKey, SigningKeyRow } from './key-repository.ts';
import type { Sealer } from './sealing.ts';

/** The algorithms Latchkey always has a key for; the first is the default for access tokens. */
export const SIGNING_ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/**
 * 'published': in the JWKS so verifiers can fetch it ahead of time, not signing
 * until `activatesAt` (and never, while that is null). 'active': signing.
 * 'retired': kept for the record, out of the JWKS.
 */
export type KeyState = 'published' | 'active' | 'retired';
const LIVE_STATES: readonly KeyState[] = ['active', 'published'];

/** Cookie keys created on first boot; oidc-provider signs with the first and accepts all. */
const INITIAL_COOKIE_KEYS = 2;
const COOKIE_KEY_BYTES = 32;

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

const GENERATE_OPTIONS: Record<SigningAlg, { crv?: string; modulusLength?: number }> = {
  ES256: { crv: 'P-256' },
  RS256: { modulusLength: 2048 },
  EdDSA: { crv: 'Ed25519' },
};

export interface KeySummary {
  readonly kid: string;
  readonly alg: string;
  /** The state in effect now: a published key whose activatesAt has passed is reported 'active'. */
  readonly state: string;
  readonly createdAt: Date;
  readonly activatesAt: Date | null;
  readonly retiredAt: Date | null;
}

export interface KeyServiceDeps {
  readonly keys: KeyRepository;
  readonly sealer: Sealer;
  readonly now?: () => Date;
}

interface LoadedSigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly state: string;
  readonly activatesAt: Date | null;
  readonly retiredAt: Date | null;
  readonly createdAt: Date;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

interface LoadedKeys {
  readonly signing: readonly LoadedSigningKey[];
  readonly cookies: readonly string[];
}

/** What a sealed signing or cookie key is bound to (sealing.ts `context`): its own row. */
export const signingContext = (kid: string) => `signing-key:${kid}`;
export const cookieContext = (id: string) => `cookie-key:${id}`;

export function createKeyService(deps: KeyServiceDeps) {
  const { keys, sealer } = deps;
  const now = deps.now ?? (() => new Date());
  let loaded: Promise<LoadedKeys> | undefined;

  function reload(): Promise<LoadedKeys> {
    const attempt = loadKeys(keys, sealer);
    loaded = attempt;
    // A failed load must not stick: the next call tries again.
    attempt.catch(() => {
      if (loaded === attempt) loaded = undefined;
    });
    return attempt;
  }

  const current = () => loaded ?? reload();

  return {
    /**
     * Creates whatever is missing: one active key per SIGNING_ALGS entry
     * without a live (active or published) key, and the cookie keys when there
     * are none. Processes racing on a fresh database agree on one key set:
     * the decision is re-made under the key-set lock, and the loser's
     * pre-generated keys are discarded. Ends by loading (decrypting) the keys,
     * so a wrong LATCHKEY_SECRET fails here, at boot, not at the first request.
     */
    async ensureKeys(): Promise<void> {
      const missing = await findMissing(keys);
      if (missing.algs.length > 0 || missing.cookies) {
        // Open the keys already there first: with a wrong LATCHKEY_SECRET, refuse
        // before adding keys sealed under it next to ones that cannot be opened.
        await reload();
        // RSA generation takes long enough (0.1–0.5 s) that it stays out of the
        // locked transaction; the algs are generated side by side (the thread
        // pool does the work), which matters on a first start.
        const prepared = new Map<string, NewSigningKey>(await Promise.all(missing.algs.map(async (alg) => [alg, await generateSigningKey(alg, sealer, now())] as const)));

        await keys.withKeySetLock(async (locked) => {
          const still = await findMissing(locked);
          const signing: NewSigningKey[] = [];
          for (const alg of still.algs) signing.push(prepared.get(alg) ?? (await generateSigningKey(alg, sealer, now())));
          await locked.insertSigningKeys(signing);
          if (still.cookies) await locked.insertCookieKeys(generateCookieKeys(sealer, now()));
        });
      }
      await reload();
    },

    /**
     * Private JWKs for oidc-provider's `jwks`, live keys only. oidc-provider
     * signs with the first key of an alg, so within each alg the active keys
     * come first (most recently activated first), then the published ones.
     */
    async signingJwks(): Promise<{ keys: JWK[] }> {
      const { signing } = await current();
      return { keys: inSigningOrder(signing, now()).map((key) => structuredClone(key.privateJwk)) };
    },

    /** The same keys, public members only: what /jwks serves to verifiers. */
    async publicJwks(): Promise<{ keys: JWK[] }> {
      const { signing } = await current();
      return { keys: inSigningOrder(signing, now()).map((key) => structuredClone(key.publicJwk)) };
    },

    /** Decrypted cookie keys, newest first, for oidc-provider's `cookies.keys`. */
    async cookieKeys(): Promise<string[]> {
      return [...(await current()).cookies];
    },

    /** Every signing key, retired ones included, newest first; no key material. */
    async list(): Promise<KeySummary[]> {
      const at = now();
      return (await keys.listSigningKeys()).map((row) => ({
        kid: row.kid,
        alg: row.alg,
        state: isActive(row, at) ? 'active' : row.state,
        createdAt: row.createdAt,
        activatesAt: row.activatesAt,
        retiredAt: row.retiredAt,
      }));
    },

    /** Re-reads and decrypts the keys from the database (after rotation, or another process's change). */
    async reload(): Promise<void> {
      await reload();
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;

async function findMissing(keys: KeyQueries): Promise<{ algs: SigningAlg[]; cookies: boolean }> {
  const live = await keys.findSigningKeysInStates(LIVE_STATES);
  const algs = SIGNING_ALGS.filter((alg) => !live.some((row) => row.alg === alg));
  const cookies = (await keys.listCookieKeys()).length === 0;
  return { algs, cookies };
}

/**
 * A fresh key pair for `alg`, its private half sealed. Born 'active' unless
 * `activatesAt` is given: then 'published' until that instant (key rotation).
 */
export async function generateSigningKey(alg: SigningAlg, sealer: Sealer, createdAt: Date, activatesAt: Date | null = null): Promise<NewSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { ...GENERATE_OPTIONS[alg], extractable: true });
  const publicParts = publicMembers(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(publicParts, 'sha256');
  const meta = { kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), ...meta };
  return {
    kid,
    alg,
    publicJwk: JSON.stringify({ ...publicParts, ...meta }),
    sealedPrivate: sealer.seal(JSON.stringify(privateJwk), signingContext(kid)),
    state: activatesAt ? 'published' : 'active',
    activatesAt,
    createdAt,
  };
}

function generateCookieKeys(sealer: Sealer, createdAt: Date): NewCookieKey[] {
  return Array.from({ length: INITIAL_COOKIE_KEYS }, () => {
    const id = `ck_${randomBytes(12).toString('base64url')}`;
    return { id, sealedValue: sealer.seal(randomBytes(COOKIE_KEY_BYTES).toString('base64url'), cookieContext(id)), createdAt };
  });
}

async function loadKeys(keys: KeyRepository, sealer: Sealer): Promise<LoadedKeys> {
  const rows = await keys.findSigningKeysInStates(LIVE_STATES);
  const signing: LoadedSigningKey[] = [];
  for (const row of rows) signing.push(await openSigningKey(row, sealer));
  const cookies = (await keys.listCookieKeys()).map((row) => {
    try {
      return sealer.open(row.sealedValue, cookieContext(row.id));
    } catch (error) {
      throw new KeyUnavailableError(`cookie key ${row.id} cannot be decrypted: ${(error as Error).message}`);
    }
  });
  return { signing, cookies };
}

/**
 * Decrypts one key and checks that kid, private key and published public key
 * all belong together, so a row edited behind our back (say, a swapped
 * publicJwk) is refused instead of published.
 */
async function openSigningKey(row: SigningKeyRow, sealer: Sealer): Promise<LoadedSigningKey> {
  const refuse = (reason: string) => new KeyUnavailableError(`signing key ${row.kid} (${row.alg}) cannot be used: ${reason}`);
  let privateJwk: JWK;
  let storedPublic: JWK;
  try {
    privateJwk = JSON.parse(sealer.open(row.sealedPrivate, signingContext(row.kid))) as JWK;
  } catch (error) {
    throw refuse(error instanceof KeyUnavailableError ? error.message : 'the sealed private key is not valid JSON');
  }
  try {
    storedPublic = JSON.parse(row.publicJwk) as JWK;
  } catch {
    throw refuse('publicJwk is not valid JSON');
  }
  if (typeof privateJwk.d !== 'string' || privateJwk.kid !== row.kid || privateJwk.alg !== row.alg) {
    throw refuse('the sealed private key does not match its row');
  }
  const publicJwk: JWK = { ...publicMembers(storedPublic), kid: row.kid, alg: row.alg, use: 'sig' };
  const [fromPrivate, fromPublic] = await Promise.all([
    calculateJwkThumbprint(publicMembers(privateJwk), 'sha256').catch(() => undefined),
    calculateJwkThumbprint(publicMembers(storedPublic), 'sha256').catch(() => undefined),
  ]);
  if (fromPrivate !== row.kid || fromPublic !== row.kid) {
    throw refuse('its kid, private key and public key do not belong together');
  }
  return { kid: row.kid, alg: row.alg, state: row.state, activatesAt: row.activatesAt, retiredAt: row.retiredAt, createdAt: row.createdAt, privateJwk, publicJwk };
}

/** Only the public members of a JWK (an allow-list: unknown members never leak). */
function publicMembers(jwk: JWK): JWK {
  const allowed = PUBLIC_MEMBERS[jwk.kty ?? ''] ?? [];
  const picked: Record<string, unknown> = {};
  for (const name of allowed) {
    if ((jwk as Record<string, unknown>)[name] !== undefined) picked[name] = (jwk as Record<string, unknown>)[name];
  }
  return picked as JWK;
}

function inSigningOrder(keys: readonly LoadedSigningKey[], at: Date): LoadedSigningKey[] {
  const algRank = (alg: string) => {
    const index = (SIGNING_ALGS as readonly string[]).indexOf(alg);
    return index === -1 ? SIGNING_ALGS.length : index;
  };
  return [...keys].sort((a, b) => algRank(a.alg) - algRank(b.alg) || a.alg.localeCompare(b.alg) || compareForSigning(a, b, at));
}
