// authenticate: the framework-free entry point. From the Authorization header
// value to a verified access token, or a VerifyError to render with
// errorResponse().
import { extractBearerToken } from './bearer-header.ts';
import type { VerifiedAccessToken, Verifier } from './verifier.ts';

export interface AuthenticateOptions {
  readonly verifier: Pick<Verifier, 'verify'>;
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
 */
export async function authenticate(authorization: string | readonly string[] | undefined | null, options: AuthenticateOptions): Promise<VerifiedAccessToken> {
  const token = extractBearerToken(authorization);
  return options.verifier.verify(token, {
    ...(options.scopes ? { requiredScopes: options.scopes } : {}),
    ...(options.introspect ? { introspect: true } : {}),
    ...(options.requireAcr !== undefined ? { requireAcr: options.requireAcr } : {}),
  });
}
