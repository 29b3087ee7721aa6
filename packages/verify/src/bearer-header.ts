// Extracts the token from an `Authorization: Bearer <b64token>` header
// (RFC 6750 §2.1), refusing anything ambiguous rather than guessing.
import { InvalidAuthorizationHeaderError, TokenMissingError } from './errors.ts';

// credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: |$)/;

/**
 * @param header the header value as received: a string, or every value when
 *   the framework exposes repeated headers (Node's `req.headersDistinct`).
 */
export function extractBearerToken(header: string | readonly string[] | undefined | null): string {
  const values = header == null ? [] : typeof header === 'string' ? [header] : header;
  if (values.length > 1) {
    throw new InvalidAuthorizationHeaderError('the Authorization header must be sent once');
  }
  const value = values[0]?.trim();
  if (!value) throw new TokenMissingError('no bearer token was sent');

  const scheme = SCHEME.exec(value)?.[1];
  if (scheme && scheme.toLowerCase() !== 'bearer') {
    throw new TokenMissingError('the Authorization header does not carry a bearer token');
  }
  const token = BEARER.exec(value)?.[1];
  if (!token) {
    throw new InvalidAuthorizationHeaderError('the Authorization header must be "Bearer" followed by one token');
  }
  return token;
}
