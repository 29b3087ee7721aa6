// The rules an upstream identity provider's record must satisfy, as pure
// functions so they can be checked without a database. Every text is
// checked for what PostgreSQL's text type refuses (a NUL, a lone surrogate)
// before it can reach a query.
import { isLoopbackHost, type Config } from '../config/config.ts';
import { InvalidInputError } from '../errors.ts';
import { parseScopeTokens } from '../resources/scope.ts';

export const IDENTITY_PROVIDER_TYPES = ['oidc', 'github'] as const;
export type IdentityProviderType = (typeof IDENTITY_PROVIDER_TYPES)[number];

/** What each type asks the upstream for when the operator names no scope. */
export const DEFAULT_SCOPE: Readonly<Record<IdentityProviderType, string>> = Object.freeze({
  oidc: 'openid email profile',
  github: 'read:user user:email',
});

/** github.com itself; a GitHub Enterprise server is named by its base URL. */
export const GITHUB_ISSUER = 'https://github.com';

export const NAME_MAX_LENGTH = 100;
export const SLUG_MAX_LENGTH = 64;
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const URI_MAX_LENGTH = 2048;
const CLIENT_ID_MAX_LENGTH = 512;
const CLIENT_SECRET_MAX_LENGTH = 1024;
const SCOPE_MAX_LENGTH = 1024;
// Control characters (NUL included), and the line and paragraph separators a
// one-line label has no use for.
const NOT_PRINTABLE = /[\p{Cc}\u2028\u2029]/u;

/** Trimmed, 1..100 printable characters: shown on the login page as "Continue with <name>". */
export function parseIdpName(raw: string | undefined): string {
  const name = (raw ?? '').trim();
  if (!name) throw new InvalidInputError('name is required', { field: 'name' });
  if (name.length > NAME_MAX_LENGTH) throw new InvalidInputError(`name is longer than ${NAME_MAX_LENGTH} characters`, { field: 'name' });
  if (!name.isWellFormed() || NOT_PRINTABLE.test(name)) throw new InvalidInputError('name contains characters that are not allowed (control characters or broken text)', { field: 'name' });
  return name;
}

/** A slug as typed: lower-case letters and digits in hyphen-separated runs, at most 64. */
export function parseSlug(raw: string): string {
  const slug = raw.trim();
  if (!slug || slug.length > SLUG_MAX_LENGTH || !SLUG.test(slug)) {
    throw new InvalidInputError(`slug "${slug}" must be lower-case letters and digits in runs joined by single hyphens (a-z, 0-9, -), at most ${SLUG_MAX_LENGTH} characters`, { field: 'slug' });
  }
  return slug;
}

/**
 * The slug a name gives when none is typed: accents dropped ("Café" →
 * "cafe"), lower-cased, every run of anything but a-z and 0-9 made one
 * hyphen, hyphens trimmed from both ends, cut to 64. A name with no letter
 * or digit of a-z/0-9 at all (a name in another script) gives none: the
 * operator must choose one.
 */
export function slugFromName(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/-+$/, '');
  if (!slug) throw new InvalidInputError(`name "${name}" gives no slug (it has no letters a-z or digits); choose one with --slug`, { field: 'slug' });
  return slug;
}

export function parseIdpType(raw: string | undefined): IdentityProviderType {
  const type = raw ?? 'oidc';
  if (!(IDENTITY_PROVIDER_TYPES as readonly string[]).includes(type)) {
    throw new InvalidInputError(`type "${type}" is not one of ${IDENTITY_PROVIDER_TYPES.join(', ')}`, { field: 'type' });
  }
  return type as IdentityProviderType;
}

/**
 * The upstream's issuer (oidc: where its discovery document is; github: the
 * server's base URL). Absolute https; plain http only to a loopback host
 * outside production (a second Latchkey on this machine), the rule the
 * upstream clients apply when they call it (oidc-upstream.ts); no
 * credentials, query or fragment, since the issuer is compared as a string
 * with the one the discovery document and ID tokens name. Kept as typed
 * (trimmed), not re-serialised: a trailing slash is part of an issuer.
 */
export function parseIssuer(raw: string | undefined, env: Config['env']): string {
  const issuer = (raw ?? '').trim();
  if (!issuer) throw new InvalidInputError('issuer is required', { field: 'issuer' });
  if (issuer.length > URI_MAX_LENGTH || !issuer.isWellFormed() || NOT_PRINTABLE.test(issuer)) {
    throw new InvalidInputError(`issuer must be a URL of at most ${URI_MAX_LENGTH} characters`, { field: 'issuer' });
  }
  const url = URL.parse(issuer);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    throw new InvalidInputError(`issuer "${issuer}" must be an absolute https URL`, { field: 'issuer' });
  }
  if (url.username || url.password) throw new InvalidInputError(`issuer "${issuer}" must not contain credentials`, { field: 'issuer' });
  if (issuer.includes('?') || issuer.includes('#')) throw new InvalidInputError(`issuer "${issuer}" must not have a query or a fragment`, { field: 'issuer' });
  if (url.protocol === 'http:' && (env === 'production' || !isLoopbackHost(url.hostname))) {
    throw new InvalidInputError(`issuer "${issuer}" must use https (http is allowed only for loopback hosts outside production)`, { field: 'issuer' });
  }
  return issuer;
}

export function parseClientId(raw: string | undefined): string {
  const clientId = (raw ?? '').trim();
  if (!clientId) throw new InvalidInputError('client id is required', { field: 'client_id' });
  if (clientId.length > CLIENT_ID_MAX_LENGTH) throw new InvalidInputError(`client id is longer than ${CLIENT_ID_MAX_LENGTH} characters`, { field: 'client_id' });
  if (!clientId.isWellFormed() || NOT_PRINTABLE.test(clientId)) throw new InvalidInputError('client id contains characters that are not allowed', { field: 'client_id' });
  return clientId;
}

/** The messages never quote the secret. */
export function parseClientSecret(raw: string | undefined): string {
  const secret = (raw ?? '').trim();
  if (!secret) throw new InvalidInputError('client secret is required', { field: 'client_secret' });
  if (secret.length > CLIENT_SECRET_MAX_LENGTH) throw new InvalidInputError(`client secret is longer than ${CLIENT_SECRET_MAX_LENGTH} characters`, { field: 'client_secret' });
  if (!secret.isWellFormed() || NOT_PRINTABLE.test(secret)) throw new InvalidInputError('client secret contains characters that are not allowed', { field: 'client_secret' });
  return secret;
}

/**
 * Space-separated scope tokens (RFC 6749 §3.3), distinct, in the order
 * given. An OpenID Connect upstream returns an ID token only for `openid`,
 * so an oidc provider's scope must include it.
 */
export function parseIdpScope(raw: string | undefined, type: IdentityProviderType): string {
  if (raw === undefined) return DEFAULT_SCOPE[type];
  if (raw.length > SCOPE_MAX_LENGTH) throw new InvalidInputError(`scope is longer than ${SCOPE_MAX_LENGTH} characters`, { field: 'scope' });
  const tokens = parseScopeTokens(raw, 'scope');
  if (tokens.length === 0) throw new InvalidInputError('scope must not be empty', { field: 'scope' });
  if (type === 'oidc' && !tokens.includes('openid')) throw new InvalidInputError('an oidc provider\'s scope must include openid (no ID token without it)', { field: 'scope' });
  return tokens.join(' ');
}
