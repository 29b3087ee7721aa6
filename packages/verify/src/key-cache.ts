// The issuer's public keys, held in memory once fetched, so verification needs
// no network and survives the issuer being down.
//
// - The first use discovers jwks_uri and fetches the key set.
// - An unknown `kid` may trigger one refetch, but at most one per cooldown
//   (and concurrent callers share it): a flood of tokens with made-up kids
//   costs the issuer one request per cooldown, not one per token.
// - After `maxAgeMs` the set is refreshed in the background, so keys the
//   issuer retired stop being trusted; verification keeps using the cached
//   set meanwhile, and a failed refresh keeps it.
// - Any failure to reach the issuer leaves the cached keys in place.
// - A jwks_uri that is plain http on a host that is not loopback is never
//   fetched (unless allowInsecure): verification answers insecure_url.
import { createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { VerifierUnavailableError, VerifyError } from './errors.ts';
import { fetchIssuerMetadata, fetchJson, type FetchOptions, type IssuerMetadata } from './issuer-metadata.ts';
import { requireSecureTransport } from './transport-security.ts';

type KeyResolver = ReturnType<typeof createLocalJWKSet>;
export type ResolvedKey = Awaited<ReturnType<KeyResolver>>;

export interface KeyCacheOptions extends FetchOptions {
  readonly issuer: string;
  /** Fetch a plain-http jwks_uri on a host that is not loopback. */
  readonly allowInsecure: boolean;
  readonly refetchCooldownMs: number;
  readonly maxAgeMs: number;
  readonly now: () => number;
}

interface Loaded {
  readonly metadata: IssuerMetadata;
  readonly jwks: JSONWebKeySet;
  readonly resolve: KeyResolver;
  readonly fetchedAt: number;
}

export function createKeyCache(options: KeyCacheOptions) {
  let metadata: IssuerMetadata | undefined;
  let loaded: Loaded | undefined;
  let inflight: Promise<Loaded> | undefined;
  // When the last refetch for an unknown kid started, or the last fetch failed.
  // The first load and the periodic refresh do not count when they succeed, so
  // a key published just before start-up is still learnt at once.
  let cooldownFrom = Number.NEGATIVE_INFINITY;
  // Why the last fetch failed: a refusal of ours (an insecure jwks_uri) is
  // answered as itself during the cooldown, not as "retrying".
  let lastFailure: unknown;

  function coolingDown(): boolean {
    return options.now() - cooldownFrom < options.refetchCooldownMs;
  }

  async function fetchKeys(): Promise<Loaded> {
    metadata ??= await fetchIssuerMetadata(options.issuer, options);
    requireSecureTransport(metadata.jwksUri, 'jwks_uri', options.allowInsecure);
    const jwks = parseJwks(await fetchJson(metadata.jwksUri, {}, options));
    return { metadata, jwks, resolve: createLocalJWKSet(jwks), fetchedAt: options.now() };
  }

  /** Starts a fetch unless one is running; the result replaces the cache only on success. */
  function refetch(forUnknownKid = false): Promise<Loaded> {
    if (forUnknownKid) cooldownFrom = options.now();
    inflight ??= fetchKeys()
      .then(
        (fresh) => (loaded = fresh),
        (error: unknown) => {
          cooldownFrom = options.now();
          lastFailure = error;
          throw error;
        },
      )
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  async function current(): Promise<Loaded> {
    if (loaded) {
      if (options.now() - loaded.fetchedAt >= options.maxAgeMs && !coolingDown()) {
        refetch().catch(() => {}); // best effort: the cached keys keep serving
      }
      return loaded;
    }
    if (inflight) return inflight.catch(unavailable);
    if (coolingDown()) {
      if (lastFailure instanceof VerifyError) throw lastFailure;
      throw new VerifierUnavailableError('keys_unavailable', 'the issuer keys could not be fetched; retrying after the cooldown');
    }
    return refetch().catch(unavailable);
  }

  return {
    /** Discovers and fetches now (e.g. at start-up); rejects if the issuer cannot be reached. */
    async load(): Promise<void> {
      await current();
    },

    async metadata(): Promise<IssuerMetadata> {
      return (await current()).metadata;
    },

    /** The JWKS currently trusted (a copy of what the issuer published). */
    async keys(): Promise<JSONWebKeySet> {
      return structuredClone((await current()).jwks);
    },

    /**
     * A jose key resolver. Only "no key matches" leads to a refetch; every
     * other failure (wrong kty, invalid key) is the token's problem.
     */
    async resolve(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<ResolvedKey> {
      const cached = await current();
      try {
        return await cached.resolve(header, token);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
        if (inflight) {
          const fresh = await inflight.catch(() => undefined);
          if (fresh) return fresh.resolve(header, token);
          throw error;
        }
        if (coolingDown()) throw error;
        const fresh = await refetch(true).catch(() => undefined);
        if (!fresh) throw error;
        return fresh.resolve(header, token);
      }
    },
  };
}

export type KeyCache = ReturnType<typeof createKeyCache>;

function unavailable(error: unknown): never {
  if (error instanceof VerifyError) throw error;
  throw new VerifierUnavailableError('keys_unavailable', 'the issuer keys could not be fetched', { cause: error });
}

function parseJwks(document: unknown): JSONWebKeySet {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((key) => key && typeof key === 'object')) {
    throw new Error('the jwks_uri did not return a JSON Web Key Set');
  }
  // Only public keys meant for signatures: a symmetric ("oct") key in a
  // published set would let HS* tokens through if an algorithm list ever allowed them.
  return { keys: keys.filter((key) => key.kty !== 'oct' && (key.use === undefined || key.use === 'sig')) };
}
