// Why a bearer token was refused. Every error carries a stable `code` callers
// can switch on, the HTTP status, and the RFC 6750 error it maps to. Messages
// are fixed strings: nothing from the token (which an attacker controls) ever
// reaches a message or a WWW-Authenticate header.
//
// Self-contained on purpose (no import from Latchkey's src/errors.ts): this
// package is published on its own as `@latchkey/verify`.

export type VerifyErrorCode =
  | 'token_missing'
  | 'invalid_authorization_header'
  | 'malformed_token'
  | 'algorithm_not_allowed'
  | 'wrong_token_type'
  | 'unknown_key'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'claim_invalid'
  | 'sender_constrained'
  | 'dpop_binding_mismatch'
  | 'not_sender_constrained'
  | 'token_inactive'
  | 'invalid_dpop_proof'
  | 'insufficient_scope'
  | 'insufficient_acr'
  | 'keys_unavailable'
  | 'introspection_unavailable'
  | 'insecure_url';

/**
 * The RFC 6750 §3.1 error code (or RFC 9470's insufficient_user_authentication),
 * or undefined when the request carried no bearer token at all.
 */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication' | 'invalid_dpop_proof' | undefined;

export abstract class VerifyError extends Error {
  abstract readonly code: VerifyErrorCode;
  abstract readonly status: number;
  abstract readonly bearerError: BearerErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * RFC 6750 §3.1: a request without any bearer credentials gets a bare
 * challenge, no error code. A different scheme (Basic, DPoP) counts as none.
 */
export class TokenMissingError extends VerifyError {
  readonly code = 'token_missing';
  readonly status = 401;
  readonly bearerError = undefined;
}

/** The Authorization header is present but not `Bearer <b64token>`, or sent more than once. */
export class InvalidAuthorizationHeaderError extends VerifyError {
  readonly code = 'invalid_authorization_header';
  readonly status = 400;
  readonly bearerError = 'invalid_request';
}

export type InvalidTokenCode = Extract<
  VerifyErrorCode,
  | 'malformed_token'
  | 'algorithm_not_allowed'
  | 'wrong_token_type'
  | 'unknown_key'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'claim_invalid'
  | 'sender_constrained'
  | 'dpop_binding_mismatch'
  | 'not_sender_constrained'
  | 'token_inactive'
>;

/** The token itself is not acceptable; `code` says why (the client only learns invalid_token). */
export class InvalidTokenError extends VerifyError {
  readonly status = 401;
  readonly bearerError = 'invalid_token';
  constructor(
    readonly code: InvalidTokenCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Why a DPoP proof (RFC 9449 §4.3) was refused; the client only learns invalid_dpop_proof. */
export type DpopProofReason =
  | 'proof_missing'
  | 'proof_repeated'
  | 'malformed_proof'
  | 'wrong_proof_type'
  | 'algorithm_not_allowed'
  | 'private_key_in_proof'
  | 'signature_invalid'
  | 'claim_invalid'
  | 'htm_mismatch'
  | 'htu_mismatch'
  | 'iat_out_of_window'
  | 'ath_mismatch'
  | 'jti_replayed';

/**
 * RFC 9449 §7.1: the request carries a DPoP-bound token, and its DPoP proof
 * is missing, malformed, or does not fit this request (method, URL, time,
 * token hash) or was seen before. 401 with a `DPoP` challenge.
 */
export class InvalidDpopProofError extends VerifyError {
  readonly code = 'invalid_dpop_proof';
  readonly status = 401;
  readonly bearerError = 'invalid_dpop_proof';
  constructor(
    readonly reason: DpopProofReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A valid token that lacks a scope the route requires. */
export class InsufficientScopeError extends VerifyError {
  readonly code = 'insufficient_scope';
  readonly status = 403;
  readonly bearerError = 'insufficient_scope';
  constructor(readonly requiredScopes: readonly string[]) {
    super('the access token does not carry every scope this resource requires');
  }
}

/**
 * A valid token from a sign-in weaker than the route requires: its `acr` is
 * none of the required values (or it has none, as a client-credentials token).
 * RFC 9470 (OAuth 2.0 Step-Up Authentication Challenge): 401
 * insufficient_user_authentication with the `acr_values` the client should
 * ask the authorization server for, so it can send the person through a
 * stronger sign-in and come back with a new token.
 */
export class InsufficientUserAuthenticationError extends VerifyError {
  readonly code = 'insufficient_acr';
  readonly status = 401;
  readonly bearerError = 'insufficient_user_authentication';
  constructor(readonly requiredAcr: readonly string[]) {
    super('the access token comes from a sign-in weaker than this resource requires');
  }
}

/**
 * The verifier cannot decide: it has never obtained the issuer's keys, or an
 * online check was required and the issuer did not answer. Not the token's
 * fault, so it is a 503, never a 401.
 */
export class VerifierUnavailableError extends VerifyError {
  readonly status = 503;
  readonly bearerError = undefined;
  constructor(
    readonly code: Extract<VerifyErrorCode, 'keys_unavailable' | 'introspection_unavailable'>,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Which URL InsecureUrlError is about: the configured issuer, or one its metadata names. */
export type InsecureUrlField = 'issuer' | 'jwks_uri' | 'introspection_endpoint';

/**
 * The issuer, or the jwks_uri or introspection_endpoint its metadata names, is
 * plain http on a host that is not loopback, and allowInsecure is not set.
 * Thrown by createVerifier for the issuer; for a discovered URL, every
 * verification answers it until the issuer publishes https URLs. The
 * resource server's configuration is at fault, not the token: 503.
 */
export class InsecureUrlError extends VerifyError {
  readonly code = 'insecure_url';
  readonly status = 503;
  readonly bearerError = undefined;
  constructor(readonly field: InsecureUrlField) {
    super(`the ${field} is a plain http URL on a host that is not loopback: use https, or createVerifier({ allowInsecure: true }) on a network you trust`);
  }
}
