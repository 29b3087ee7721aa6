// Turns a VerifyError into the RFC 6750 §3 response (with RFC 9470's
// acr_values for a step-up): status, WWW-Authenticate challenge and a JSON
// body. Framework-free, so any HTTP stack can send it.
import { InsufficientScopeError, InsufficientUserAuthenticationError, InvalidDpopProofError, InvalidTokenError, type VerifyError } from './errors.ts';

export interface ChallengeOptions {
  /** Optional `realm` for the challenge (RFC 6750 §3). */
  readonly realm?: string;
  /**
   * The DPoP proof algorithms accepted (a verifier's `dpopAlgorithms`): then a
   * `DPoP algs="…"` challenge (RFC 9449 §7.1) comes first, and the Bearer
   * challenge after it. An error about the binding (invalid_dpop_proof, a
   * bound token without its proof) is on the DPoP challenge only.
   */
  readonly dpopAlgorithms?: readonly string[];
}

export interface BearerErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
}

/** The `WWW-Authenticate` value, or undefined for a 503 (the client can do nothing about it). */
export function bearerChallenge(error: VerifyError, options: ChallengeOptions = {}): string | undefined {
  if (error.status === 503) return undefined;
  if (options.dpopAlgorithms === undefined) return challenge('Bearer', error, options.realm, true);
  const bindingError = error instanceof InvalidDpopProofError || (error instanceof InvalidTokenError && BINDING_CODES.has(error.code));
  const dpop = challenge('DPoP', error, options.realm, true, `algs=${quote(options.dpopAlgorithms.join(' '))}`);
  return `${dpop}, ${challenge('Bearer', error, options.realm, !bindingError)}`;
}

/** Refusals about a token's key binding: only the DPoP challenge names them. */
const BINDING_CODES = new Set<string>(['sender_constrained', 'dpop_binding_mismatch', 'not_sender_constrained']);

function challenge(scheme: 'Bearer' | 'DPoP', error: VerifyError, realm: string | undefined, withError: boolean, extra?: string): string {
  const params: string[] = [];
  if (realm !== undefined) params.push(`realm=${quote(realm)}`);
  if (extra) params.push(extra);
  if (!withError) return params.length ? `${scheme} ${params.join(', ')}` : scheme;
  if (error.bearerError) {
    params.push(`error=${quote(error.bearerError)}`, `error_description=${quote(error.message)}`);
  }
  if (error instanceof InsufficientScopeError) {
    params.push(`scope=${quote(error.requiredScopes.join(' '))}`);
  }
  // RFC 9470 §3: the acr values to ask the authorization server for, space-separated.
  if (error instanceof InsufficientUserAuthenticationError) {
    params.push(`acr_values=${quote(error.requiredAcr.join(' '))}`);
  }
  return params.length ? `${scheme} ${params.join(', ')}` : scheme;
}

export function errorResponse(error: VerifyError, options: ChallengeOptions = {}): BearerErrorResponse {
  const challenge = bearerChallenge(error, options);
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (challenge) headers['www-authenticate'] = challenge;
  if (error.status === 503) headers['retry-after'] = '30';
  const code = error.bearerError ?? (error.status === 503 ? 'temporarily_unavailable' : 'unauthorized');
  return { status: error.status, headers, body: { error: code, error_description: error.message } };
}

// RFC 6750 §3: attribute values are quoted-strings limited to %x20-21 / %x23-5B / %x5D-7E,
// so quotes, backslashes and control characters are dropped rather than escaped.
function quote(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
}
