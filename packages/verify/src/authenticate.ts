// authenticate: the framework-free entry point. From the Authorization header
// value to a verified access token, or a VerifyError to render with
// errorResponse().
import { extractAccessToken } from './access-token-header.ts';
import type { DpopRequest } from './dpop-proof.ts';
import type { VerifiedAccessToken, Verifier } from './verifier.ts';

export interface AuthenticateOptions {
  /** With `dpopAlgorithms` (a verifier made with `dpop`), `Authorization: DPoP` is accepted too. */
  readonly verifier: Pick<Verifier, 'verify'> & Partial<Pick<Verifier, 'dpopAlgorithms'>>;
  /** Scopes the route requires; every one must be granted. */
  readonly scopes?: readonly string[];
  /** Also require the issuer to confirm the token is active (RFC 7662), for high-value routes. */
  readonly introspect?: boolean;
  /** Sign-in levels the route accepts (the token's `acr`), e.g. `['urn:latchkey:acr:mfa']`; replaces the verifier's. */
  readonly requireAcr?: string | readonly string[];
}

/**
 * @param authorization the Authorization header as received: a string, or
 *   every value when repeated headers are visible (Node's `req.headersDistinct.authorization`).
 * @param request the DPoP header, method and full URL of the request, which
 *   a DPoP proof must fit; needed for DPoP-bound tokens only.
 */
export async function authenticate(authorization: string | readonly string[] | undefined | null, options: AuthenticateOptions, request?: DpopRequest): Promise<VerifiedAccessToken> {
  const { scheme, token } = extractAccessToken(authorization, { dpop: options.verifier.dpopAlgorithms !== undefined });
  return options.verifier.verify(token, {
    // Without the request, a DPoP-bound token has no proof to fit: refused (proof_missing).
    ...(request || scheme === 'DPoP' ? { dpop: { proof: undefined, method: '', url: '', ...request, scheme } } : {}),
    ...(options.scopes ? { requiredScopes: options.scopes } : {}),
    ...(options.introspect ? { introspect: true } : {}),
    ...(options.requireAcr !== undefined ? { requireAcr: options.requireAcr } : {}),
  });
}
