// The rules an API resource's registration must satisfy, as pure functions so
// they can be checked without a database.
import { isLoopbackHost, type Config } from '../config/config.ts';
import { isDatabaseText } from '../db/database-text.ts';
import { InvalidInputError } from '../errors.ts';
import { parseScopeTokens } from './scope.ts';

export const SIGNING_ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const MAX_ACCESS_TOKEN_TTL = 86_400;
export const MAX_IDENTIFIER_LENGTH = 2048;

/**
 * RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
 * Returned exactly as given (trimmed) because clients must send the same
 * string as their `resource` parameter and it becomes the token's `aud`.
 */
export function parseResourceIdentifier(raw: string, env: Config['env']): string {
  const value = raw.trim();
  if (!value) throw new InvalidInputError('resource identifier is required', { field: 'identifier' });
  if (value.length > MAX_IDENTIFIER_LENGTH) {
    throw new InvalidInputError(`resource identifier is longer than ${MAX_IDENTIFIER_LENGTH} characters`, { field: 'identifier' });
  }
  // A URL may carry a NUL or a lone surrogate in its path, which PostgreSQL cannot store.
  if (!isDatabaseText(value, MAX_IDENTIFIER_LENGTH)) throw new InvalidInputError('resource identifier contains characters that cannot be stored (a NUL or broken Unicode)', { field: 'identifier' });
  const url = URL.parse(value);
  if (!url) throw new InvalidInputError(`resource identifier "${value}" is not an absolute URL`, { field: 'identifier' });
  if (value.includes('#')) throw new InvalidInputError(`resource identifier "${value}" must not contain a fragment`, { field: 'identifier' });
  if (url.username || url.password) {
    throw new InvalidInputError(`resource identifier "${value}" must not contain credentials`, { field: 'identifier' });
  }
  if (url.protocol === 'http:') {
    if (env === 'production' && !isLoopbackHost(url.hostname)) {
      throw new InvalidInputError(`resource identifier "${value}" must use https in production (http is allowed only for loopback hosts)`, { field: 'identifier' });
    }
  } else if (url.protocol !== 'https:') {
    throw new InvalidInputError(`resource identifier "${value}" must be an https URL`, { field: 'identifier' });
  }
  return value;
}

export function parseResourceScopes(values: readonly string[]): string[] {
  const scopes = parseScopeTokens(values, 'scopes');
  if (scopes.length === 0) throw new InvalidInputError('a resource needs at least one scope', { field: 'scopes' });
  return scopes;
}

export function parseAccessTokenTtl(value: number | undefined, fallback: number): number {
  if (value === undefined && fallback > MAX_ACCESS_TOKEN_TTL) {
    throw new InvalidInputError(`the default access token TTL (${fallback} s) is above ${MAX_ACCESS_TOKEN_TTL}; give this resource an explicit TTL`, { field: 'access_token_ttl' });
  }
  const ttl = value ?? fallback;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_ACCESS_TOKEN_TTL) {
    throw new InvalidInputError(`access token TTL must be a whole number of seconds from 1 to ${MAX_ACCESS_TOKEN_TTL}`, { field: 'access_token_ttl' });
  }
  return ttl;
}

export function parseSigningAlg(value: string | undefined): SigningAlg {
  const alg = value ?? 'ES256';
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new InvalidInputError(`signing algorithm "${alg}" is not one of ${SIGNING_ALGS.join(', ')}`, { field: 'signing_alg' });
  }
  return alg as SigningAlg;
}
