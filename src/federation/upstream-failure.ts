// Turns whatever a round trip to an upstream threw (openid-client's errors, a
// fetch that found no server, a timeout) into an UpstreamError with a stable
// code and a message safe for the log: the library's own messages name the
// check that failed ('unexpected JWT "aud" (audience) claim value'), never a
// token. Response bodies and causes' payloads are not copied.
import * as oidc from 'openid-client';
import { UpstreamError } from './upstream-identity.ts';

/** The OAuth errors that mean "this client is not set up right at the upstream". */
const CLIENT_REFUSED = new Set(['invalid_client', 'unauthorized_client', 'invalid_scope', 'unsupported_response_type', 'unauthorized_scope']);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT']);

function* causes(error: unknown): Generator<unknown> {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 6; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

function unreachable(error: unknown): boolean {
  for (const cause of causes(error)) {
    const { name, code } = cause as { name?: unknown; code?: unknown };
    if (name === 'AbortError' || name === 'TimeoutError') return true;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    // A network error as fetch reports it: a TypeError (the WHATWG fetch standard), with what failed attached as its cause.
    if (cause instanceof TypeError && (cause as { cause?: unknown }).cause instanceof Error) return true;
  }
  return false;
}

/** The messages of the error and its causes, for the log; each cut short. */
export function describeFailure(error: unknown): string {
  const parts: string[] = [];
  for (const cause of causes(error)) {
    const { message } = cause as { message?: unknown };
    if (typeof message === 'string' && message && !parts.includes(message)) parts.push(message.slice(0, 200));
  }
  return parts.join(': ') || 'unknown error';
}

export function upstreamFailure(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof oidc.AuthorizationResponseError) {
    return new UpstreamError('upstream_error', `the upstream answered the authorization request with ${error.error}`, error.error);
  }
  if (error instanceof oidc.ResponseBodyError) {
    const code = CLIENT_REFUSED.has(error.error) ? 'upstream_misconfigured' : 'upstream_error';
    return new UpstreamError(code, `the upstream's token endpoint answered ${error.status} ${error.error}`, error.error);
  }
  if (unreachable(error)) return new UpstreamError('upstream_unreachable', describeFailure(error));
  if (error instanceof oidc.ClientError) {
    switch (error.code) {
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      case 'OAUTH_KEY_SELECTION_FAILED':
      // OAUTH_INVALID_RESPONSE includes a signature that does not verify (oauth4webapi's validateJwsSignature).
      case 'OAUTH_INVALID_RESPONSE':
        return new UpstreamError('upstream_invalid_response', describeFailure(error));
      default:
        // Discovery naming another issuer, a non-JSON or failing answer, a refused http URL, …
        return new UpstreamError('upstream_misconfigured', describeFailure(error));
    }
  }
  return new UpstreamError('upstream_misconfigured', describeFailure(error));
}
