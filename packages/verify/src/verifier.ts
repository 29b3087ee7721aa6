// createVerifier: checks RFC 9068 JWT access tokens for one audience offline,
// against the issuer's published keys. The cheap checks that need no key
// (shape, algorithm, typ) run first, so garbage never costs a key lookup,
// let alone a JWKS refetch.
import { decodeProtectedHeader, jwtVerify, type JWSHeaderParameters, type JWTPayload, type JWTVerifyResult } from 'jose';
import type { TokenScheme } from './access-token-header.ts';
import { createDpopChecker, type DpopChecker, type DpopOptions, type DpopRequest } from './dpop-proof.ts';
import { InsufficientScopeError, InsufficientUserAuthenticationError, InvalidTokenError, VerifyError, type InvalidTokenCode } from './errors.ts';
import { requireActive, type IntrospectionCredentials } from './introspection.ts';
import type { Fetch } from './issuer-metadata.ts';
import { createKeyCache, type ResolvedKey } from './key-cache.ts';
import { requireSecureTransport } from './transport-security.ts';

/** Asymmetric JWS algorithms only: `none` and HS* are never accepted, whatever the options say. */
export const SUPPORTED_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export interface VerifierOptions {
  /** The issuer URL, exactly as it appears in `iss` (Latchkey's ISSUER). */
  readonly issuer: string;
  /** This resource server's identifier(s): the token's `aud` must contain one. */
  readonly audience: string | readonly string[];
  /** Default ['ES256', 'RS256', 'EdDSA'] (what Latchkey signs with). */
  readonly algorithms?: readonly Algorithm[];
  /** Seconds of clock skew allowed on exp/nbf/iat. Default 5, at most 60. */
  readonly clockToleranceSec?: number;
  /** Minimum time between two JWKS fetches caused by unknown kids or failures. Default 30 s. */
  readonly refetchCooldownMs?: number;
  /** Age after which the key set is refreshed in the background. Default 10 min. */
  readonly cacheMaxAgeMs?: number;
  /** Timeout of each request to the issuer. Default 5 s. */
  readonly timeoutMs?: number;
  readonly fetch?: Fetch;
  /** This resource server's own client credentials, for `verify(token, { introspect: true })`. */
  readonly introspect?: IntrospectionCredentials;
  /**
   * Allow plain http to hosts that are not loopback (the issuer, and the
   * jwks_uri and introspection_endpoint it publishes). Default false: keys
   * fetched over plain http can be swapped by anyone on the path.
   */
  readonly allowInsecure?: boolean;
  /**
   * The sign-in levels (`acr`) every token must come from, unless a call
   * says otherwise (`verify(token, { requireAcr })`): one of these values,
   * compared exactly. Default: none required.
   */
  readonly requireAcr?: string | readonly string[];
  /**
   * Accept DPoP-bound tokens (RFC 9449): `true` for the defaults, or options.
   * A token with `cnf.jkt` is then accepted only as `Authorization: DPoP
   * <token>` with a valid proof of its key (verify(token, { dpop })); without
   * this option every token with `cnf` is refused (sender_constrained).
   * The jti replay cache is in memory, per verifier: per instance.
   */
  readonly dpop?: boolean | DpopOptions;
  /** Milliseconds since the epoch; for tests. */
  readonly now?: () => number;
}

export interface VerifyOptions {
  /** Every one of these must be in the token's `scope`. */
  readonly requiredScopes?: readonly string[];
  /** Also ask the issuer (RFC 7662) whether the token is still active. Needs `introspect` credentials. */
  readonly introspect?: boolean;
  /**
   * The token's `acr` must be one of these (e.g. Latchkey's
   * `urn:latchkey:acr:mfa`); replaces the verifier's `requireAcr` for this call.
   * Otherwise: InsufficientUserAuthenticationError, 401 insufficient_user_authentication (RFC 9470).
   */
  readonly requireAcr?: string | readonly string[];
  /**
   * How the token came (its Authorization scheme) and the request its DPoP
   * proof must fit. Needed for a DPoP-bound token, with a verifier made with
   * `dpop`; absent, the token is taken as a Bearer token.
   */
  readonly dpop?: DpopPresentation;
}

/** A token's scheme, and the request (DPoP header, method, URL) a DPoP proof must fit. */
export interface DpopPresentation extends DpopRequest {
  readonly scheme: TokenScheme;
}

export interface AccessTokenClaims extends JWTPayload {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | string[];
  readonly exp: number;
  readonly iat: number;
  readonly client_id: string;
  readonly jti?: string;
  readonly scope?: string;
  /** How the person signed in (RFC 9068 §2.2.1); absent from client-credentials tokens. */
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly auth_time?: number;
  /** RFC 7800 confirmation: `jkt`, the thumbprint of the DPoP key the token is bound to. */
  readonly cnf?: { readonly jkt?: string };
}

export interface VerifiedAccessToken {
  readonly claims: AccessTokenClaims;
  /** `scope` split on spaces. */
  readonly scopes: readonly string[];
  readonly header: JWSHeaderParameters;
}

const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['ES256', 'RS256', 'EdDSA'];
// RFC 9068 §2.1 `typ`; jose compares it case-insensitively and with or without `application/`.
const ACCESS_TOKEN_TYP = 'at+jwt';
// RFC 9068 §2.2: required in every JWT access token (iss and aud are checked by value).
const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'client_id'];
// A compact JWS is three base64url segments; anything longer than this is not one of ours.
// The signature may be empty here so that `alg: none` is refused as such, by the algorithm check.
const MAX_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createVerifier(options: VerifierOptions) {
  const issuer = requireUrl(options.issuer);
  const allowInsecure = options.allowInsecure ?? false;
  if (typeof allowInsecure !== 'boolean') throw new TypeError('allowInsecure must be true or false');
  requireSecureTransport(new URL(issuer), 'issuer', allowInsecure);
  const audience = toList(options.audience, 'audience');
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS);
  const clockTolerance = checkNumber(options.clockToleranceSec ?? 5, 'clockToleranceSec', 0, 60);
  const fetchOptions = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: checkNumber(options.timeoutMs ?? 5000, 'timeoutMs', 1, 60_000),
  };
  const keys = createKeyCache({
    ...fetchOptions,
    issuer,
    allowInsecure,
    refetchCooldownMs: checkNumber(options.refetchCooldownMs ?? 30_000, 'refetchCooldownMs', 0, 24 * 3600_000),
    maxAgeMs: checkNumber(options.cacheMaxAgeMs ?? 600_000, 'cacheMaxAgeMs', 0, 7 * 24 * 3600_000),
    now: options.now ?? Date.now,
  });
  const introspection = options.introspect;
  if (introspection && (!introspection.clientId || !introspection.clientSecret)) {
    throw new TypeError('introspect needs a clientId and a clientSecret');
  }
  const defaultAcr = options.requireAcr === undefined ? undefined : checkAcrValues(options.requireAcr);
  const now = options.now;
  const dpop = createDpop(options.dpop, clockTolerance, now ?? Date.now);
  const jwtOptions = {
    issuer,
    audience: [...audience],
    algorithms: [...algorithms],
    typ: ACCESS_TOKEN_TYP,
    clockTolerance,
    requiredClaims: REQUIRED_CLAIMS,
  };

  async function verifySignatureAndClaims(token: string): Promise<JWTVerifyResult> {
    const verifyOptions = now ? { ...jwtOptions, currentDate: new Date(now()) } : jwtOptions;
    try {
      return await jwtVerify(token, keys.resolve, verifyOptions);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
      // Several published keys fit a token without `kid`: try each in turn.
      for await (const key of error as AsyncIterable<ResolvedKey>) {
        try {
          return await jwtVerify(token, key, verifyOptions);
        } catch (inner) {
          if ((inner as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner;
        }
      }
      throw new InvalidTokenError('signature_invalid', 'the access token signature is not valid');
    }
  }

  return {
    /** Verifies a JWT access token; resolves with its claims or rejects with a VerifyError. */
    async verify(token: string, verifyOptions: VerifyOptions = {}): Promise<VerifiedAccessToken> {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
        throw new InvalidTokenError('malformed_token', 'the access token is not a signed JWT');
      }
      let header: JWSHeaderParameters;
      try {
        header = decodeProtectedHeader(token) as JWSHeaderParameters;
      } catch (error) {
        throw new InvalidTokenError('malformed_token', 'the access token is not a signed JWT', { cause: error });
      }
      if (typeof header.alg !== 'string' || !(algorithms as readonly string[]).includes(header.alg)) {
        throw new InvalidTokenError('algorithm_not_allowed', 'the access token is signed with an algorithm this resource does not accept');
      }
      if (typeof header.typ !== 'string' || header.typ.toLowerCase().replace(/^application\//, '') !== ACCESS_TOKEN_TYP) {
        throw new InvalidTokenError('wrong_token_type', 'the token is not a JWT access token (typ at+jwt)');
      }

      let result: JWTVerifyResult;
      try {
        result = await verifySignatureAndClaims(token);
      } catch (error) {
        throw toVerifyError(error);
      }
      const claims = result.payload as AccessTokenClaims;
      if (
        typeof claims.sub !== 'string' ||
        typeof claims.client_id !== 'string' ||
        (claims.scope !== undefined && typeof claims.scope !== 'string') ||
        (claims.acr !== undefined && typeof claims.acr !== 'string') ||
        (claims.amr !== undefined && !(Array.isArray(claims.amr) && claims.amr.every((method) => typeof method === 'string')))
      ) {
        throw new InvalidTokenError('claim_invalid', 'the access token claims are not well-formed');
      }
      // A `cnf` claim (RFC 7800) binds the token to a key or certificate: it is
      // only safe where the proof of possession is checked. Accepting it as a
      // plain Bearer token would let whoever copies it use it, the very thing
      // the binding exists to prevent.
      if (claims.cnf !== undefined || verifyOptions.dpop?.scheme === 'DPoP') {
        await checkBinding(dpop, token, claims, verifyOptions.dpop);
      }
      const scopes = claims.scope ? claims.scope.split(' ').filter(Boolean) : [];

      const required = verifyOptions.requiredScopes ?? [];
      if (required.some((scope) => !scopes.includes(scope))) {
        throw new InsufficientScopeError(required);
      }

      const requiredAcr = verifyOptions.requireAcr === undefined ? defaultAcr : checkAcrValues(verifyOptions.requireAcr);
      if (requiredAcr && !(claims.acr !== undefined && requiredAcr.includes(claims.acr))) {
        throw new InsufficientUserAuthenticationError(requiredAcr);
      }

      if (verifyOptions.introspect) {
        if (!introspection) throw new TypeError('verify(…, { introspect: true }) needs createVerifier({ introspect: { clientId, clientSecret } })');
        const { introspectionEndpoint } = await keys.metadata();
        if (introspectionEndpoint) requireSecureTransport(introspectionEndpoint, 'introspection_endpoint', allowInsecure);
        await requireActive(token, introspectionEndpoint, introspection, fetchOptions);
      }

      return { claims, scopes, header: result.protectedHeader };
    },

    /** Discovers the issuer and fetches its keys now, so the first request does not wait (rejects if unreachable). */
    preload: (): Promise<void> => keys.load(),

    /** The key set currently trusted. */
    jwks: () => keys.keys(),

    /** The DPoP proof algorithms accepted (for the `DPoP algs` challenge), or undefined without the `dpop` option. */
    dpopAlgorithms: dpop?.algorithms,
  };
}

function createDpop(option: VerifierOptions['dpop'], clockToleranceSec: number, now: () => number): DpopChecker | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return createDpopChecker({}, clockToleranceSec, now);
  if (typeof option !== 'object' || option === null) throw new TypeError('dpop must be true, false or an options object');
  return createDpopChecker(option, clockToleranceSec, now);
}

/**
 * RFC 9449 §7: a bound token (cnf.jkt) comes with the DPoP scheme and a proof
 * by the key it names, made for this request and this token, and seen once;
 * a DPoP-scheme token is bound. Only DPoP is checked: a token bound otherwise
 * (a certificate, RFC 8705) stays refused.
 */
async function checkBinding(dpop: DpopChecker | undefined, token: string, claims: AccessTokenClaims, presented: DpopPresentation | undefined): Promise<void> {
  const cnf = claims.cnf as Record<string, unknown> | undefined;
  if (cnf === undefined) throw new InvalidTokenError('not_sender_constrained', 'the access token is not bound to a key, and the DPoP scheme is for bound tokens');
  const jkt = typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf) && Object.keys(cnf).length === 1 ? cnf.jkt : undefined;
  if (!dpop || typeof jkt !== 'string') {
    throw new InvalidTokenError('sender_constrained', 'the access token is bound to a key (cnf), and this resource cannot check proof of possession');
  }
  if (presented?.scheme !== 'DPoP') {
    throw new InvalidTokenError('sender_constrained', 'the access token is bound to a DPoP key: present it with the DPoP scheme and a proof');
  }
  const proof = await dpop.check(presented, token);
  if (proof.jkt !== jkt) throw new InvalidTokenError('dpop_binding_mismatch', 'the access token is bound to another key than the key of the DPoP proof');
  dpop.remember(proof);
}

export type Verifier = ReturnType<typeof createVerifier>;

/** Maps jose's errors (stable `code`s) to ours; anything unexpected is rethrown as it is. */
function toVerifyError(error: unknown): unknown {
  if (error instanceof VerifyError) return error;
  const { code, claim } = error as { code?: string; claim?: string };
  const reject = (reason: InvalidTokenCode, message: string) => new InvalidTokenError(reason, message, { cause: error });
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return reject('token_expired', 'the access token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      switch (claim) {
        case 'nbf':
        case 'iat':
          return reject('token_not_yet_valid', 'the access token is not valid yet');
        case 'iss':
          return reject('issuer_mismatch', 'the access token was issued by another issuer');
        case 'aud':
          return reject('audience_mismatch', 'the access token is meant for another resource');
        case 'typ':
          return reject('wrong_token_type', 'the token is not a JWT access token (typ at+jwt)');
        default:
          return reject('claim_invalid', 'the access token claims are not valid');
      }
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return reject('unknown_key', 'the access token is signed with a key the issuer does not publish');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return reject('signature_invalid', 'the access token signature is not valid');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return reject('algorithm_not_allowed', 'the access token is signed with an algorithm this resource does not accept');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWKS_INVALID':
      return reject('malformed_token', 'the access token is not a signed JWT');
    default:
      return error;
  }
}

function requireUrl(value: string): string {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new TypeError('issuer must be an http(s) URL without query or fragment');
  }
  return value;
}

function toList(value: string | readonly string[], name: string): readonly string[] {
  const list = typeof value === 'string' ? [value] : [...(value ?? [])];
  if (!list.length || !list.every((item) => typeof item === 'string' && item.length > 0)) {
    throw new TypeError(`${name} must be a non-empty string or list of strings`);
  }
  return list;
}

// acr values travel space-separated in a quoted-string (RFC 9470 §3 acr_values):
// visible ASCII without space, quote or backslash, so none is lost or split on the way.
const ACR_VALUE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function checkAcrValues(value: string | readonly string[]): readonly string[] {
  const list = toList(value, 'requireAcr');
  if (!list.every((acr) => ACR_VALUE.test(acr))) {
    throw new TypeError('requireAcr values must be visible ASCII without spaces, quotes or backslashes');
  }
  return list;
}

function checkAlgorithms(list: readonly string[]): readonly Algorithm[] {
  if (!Array.isArray(list) || !list.length) throw new TypeError('algorithms must be a non-empty list');
  for (const alg of list) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TypeError(`algorithm ${String(alg)} is not allowed (asymmetric JWS algorithms only; never none or HS*)`);
    }
  }
  return list as readonly Algorithm[];
}

function checkNumber(value: number, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`${name} must be a number between ${min} and ${max}`);
  }
  return value;
}
