// Checks a DPoP proof (RFC 9449 §4.3) for one request and one access token:
// the proof is a JWT of typ dpop+jwt, signed with an allowed asymmetric
// algorithm by the public key in its own `jwk` header; its `htm` is the
// request's method, its `htu` the request's URL without query and fragment,
// its `iat` recent, its `ath` the SHA-256 of the access token, and its `jti`
// not seen before by this checker. Resolves with the RFC 7638 thumbprint of
// the proof's key, which the caller compares with the token's cnf.jkt. The
// jti is recorded only by `remember`, once the caller has accepted the whole
// request, so a proof refused for another reason does not burn its jti.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { InvalidDpopProofError } from './errors.ts';
import { createReplayCache } from './replay-cache.ts';

/** The asymmetric algorithms a DPoP proof may use (RFC 9449 §4.2: never none nor a MAC). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

export interface DpopOptions {
  /** Seconds a proof's `iat` may be from now, either way. Default 60, at most 300. */
  readonly maxAgeSec?: number;
  /** Proofs (jti) remembered at most, per verifier. Default 10 000. */
  readonly replayCacheSize?: number;
  /** Default ES256, EdDSA, Ed25519, PS256, RS256 (what Latchkey's token endpoint accepts). */
  readonly algorithms?: readonly DpopAlgorithm[];
}

/** The request a proof must fit: its method and its full URL as the client addressed it. */
export interface DpopRequest {
  /** The DPoP header value(s) as received; exactly one is accepted. */
  readonly proof: string | readonly string[] | undefined | null;
  /** The HTTP method, e.g. GET. */
  readonly method: string;
  /** The absolute URL the client called (scheme and host as the client saw them); query and fragment are ignored. */
  readonly url: string | URL;
}

export interface CheckedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
}

const DEFAULT_ALGORITHMS: readonly DpopAlgorithm[] = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// Members only a private (or symmetric) JWK has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export function createDpopChecker(options: DpopOptions, clockToleranceSec: number, now: () => number) {
  const maxAgeSec = checkNumber(options.maxAgeSec ?? 60, 'dpop.maxAgeSec', 1, 300);
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS);
  const replays = createReplayCache(checkNumber(options.replayCacheSize ?? 10_000, 'dpop.replayCacheSize', 1, 10_000_000), now);
  const window = maxAgeSec + clockToleranceSec;

  return {
    algorithms,

    /** Checks `request`'s proof for `accessToken`; rejects with InvalidDpopProofError. */
    async check(request: DpopRequest, accessToken: string): Promise<CheckedProof> {
      const values = request.proof == null ? [] : typeof request.proof === 'string' ? [request.proof] : request.proof;
      if (values.length === 0 || !values[0]) throw new InvalidDpopProofError('proof_missing', 'the request carries a DPoP-bound token but no DPoP proof');
      if (values.length > 1) throw new InvalidDpopProofError('malformed_proof', 'the DPoP header must be sent once');
      const proof = values[0].trim();
      if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw new InvalidDpopProofError('malformed_proof', 'the DPoP proof is not a signed JWT');

      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(proof);
      } catch (cause) {
        throw new InvalidDpopProofError('malformed_proof', 'the DPoP proof is not a signed JWT', { cause });
      }
      if (header.typ !== 'dpop+jwt') throw new InvalidDpopProofError('wrong_proof_type', 'the DPoP proof is not of type dpop+jwt');
      if (typeof header.alg !== 'string' || !(algorithms as readonly string[]).includes(header.alg)) {
        throw new InvalidDpopProofError('algorithm_not_allowed', 'the DPoP proof is signed with an algorithm this resource does not accept');
      }
      const jwk = header.jwk as JWK | undefined;
      if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw new InvalidDpopProofError('malformed_proof', 'the DPoP proof carries no public key (jwk)');
      if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw new InvalidDpopProofError('private_key_in_proof', 'the DPoP proof key (jwk) must be a public key');

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(proof, EmbeddedJWK, { algorithms: [...algorithms], typ: 'dpop+jwt' }));
      } catch (cause) {
        const code = (cause as { code?: string }).code;
        if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw new InvalidDpopProofError('signature_invalid', 'the DPoP proof signature is not valid', { cause });
        throw new InvalidDpopProofError('malformed_proof', 'the DPoP proof is not a valid signed JWT', { cause });
      }

      const { htm, htu, iat, jti, ath } = payload as { htm?: unknown; htu?: unknown; iat?: unknown; jti?: unknown; ath?: unknown };
      if (typeof htm !== 'string' || typeof htu !== 'string' || typeof iat !== 'number' || !Number.isFinite(iat) || typeof jti !== 'string' || !jti || jti.length > MAX_JTI_LENGTH) {
        throw new InvalidDpopProofError('claim_invalid', 'the DPoP proof lacks htm, htu, iat or jti, or one is not well-formed');
      }
      if (htm !== request.method) throw new InvalidDpopProofError('htm_mismatch', 'the DPoP proof was made for another HTTP method');
      const expected = withoutQuery(request.url);
      if (!expected || withoutQuery(htu) !== expected) throw new InvalidDpopProofError('htu_mismatch', 'the DPoP proof was made for another URL');
      if (Math.abs(now() / 1000 - iat) > window) throw new InvalidDpopProofError('iat_out_of_window', 'the DPoP proof is too old, or from the future');
      if (ath !== createHash('sha256').update(accessToken).digest('base64url')) {
        throw new InvalidDpopProofError('ath_mismatch', 'the DPoP proof was made for another access token (ath)');
      }
      return { jkt: await calculateJwkThumbprint(jwk, 'sha256'), jti, iat };
    },

    /** Records an accepted proof; rejects with InvalidDpopProofError when it was seen before. */
    remember(proof: CheckedProof): void {
      if (!replays.add(`${proof.jkt}\0${proof.jti}`, (proof.iat + window) * 1000)) {
        throw new InvalidDpopProofError('jti_replayed', 'the DPoP proof was used before');
      }
    },
  };
}

export type DpopChecker = ReturnType<typeof createDpopChecker>;

/** The URL without query and fragment, normalised by the WHATWG parser (case of scheme and host, default port, dot segments). */
function withoutQuery(value: string | URL): string | undefined {
  const url = URL.parse(String(value));
  if (!url) return undefined;
  url.search = '';
  url.hash = '';
  return url.href;
}

function checkAlgorithms(list: readonly string[]): readonly DpopAlgorithm[] {
  if (!Array.isArray(list) || !list.length) throw new TypeError('dpop.algorithms must be a non-empty list');
  for (const alg of list) {
    if (!(DPOP_ALGORITHMS as readonly string[]).includes(alg)) throw new TypeError(`DPoP algorithm ${String(alg)} is not allowed (asymmetric JWS algorithms only)`);
  }
  return list as readonly DpopAlgorithm[];
}

function checkNumber(value: number, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new TypeError(`${name} must be a number between ${min} and ${max}`);
  return value;
}
