// @latchkey/verify: offline verification of Latchkey's JWT access tokens for
// resource servers. Everything public is re-exported here by name.
export { createVerifier, SUPPORTED_ALGORITHMS } from './verifier.ts';
export type { AccessTokenClaims, Algorithm, DpopPresentation, VerifiedAccessToken, Verifier, VerifierOptions, VerifyOptions } from './verifier.ts';
export { DPOP_ALGORITHMS } from './dpop-proof.ts';
export type { DpopAlgorithm, DpopOptions, DpopRequest } from './dpop-proof.ts';
export { extractAccessToken } from './access-token-header.ts';
export type { PresentedToken, TokenScheme } from './access-token-header.ts';
export { authenticate } from './authenticate.ts';
export type { AuthenticateOptions } from './authenticate.ts';
export { extractBearerToken } from './bearer-header.ts';
export { bearerChallenge, errorResponse } from './error-response.ts';
export type { BearerErrorResponse, ChallengeOptions } from './error-response.ts';
export { requireToken } from './koa.ts';
export type { RequireTokenOptions, TokenState } from './koa.ts';
export type { IntrospectionCredentials } from './introspection.ts';
export {
  InsecureUrlError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidAuthorizationHeaderError,
  InvalidDpopProofError,
  InvalidTokenError,
  TokenMissingError,
  VerifierUnavailableError,
  VerifyError,
} from './errors.ts';
export type { BearerErrorCode, DpopProofReason, InsecureUrlField, InvalidTokenCode, VerifyErrorCode } from './errors.ts';
