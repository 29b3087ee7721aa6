// The rules a client registration must satisfy, as pure functions so they can
// be checked without a database. Whether the named resources exist, and the
// scope that follows from them, is the service's part.
import { isLoopbackHost, type Config } from '../config/config.ts';
import { InvalidInputError } from '../errors.ts';
import { parseScopeTokens } from '../resources/scope.ts';

/** RFC 8628's grant type: a device without a browser (a TV, a CLI) has its person sign in on another screen. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8693's grant type: a service trades a person's access token for one to another service (oidc/token-exchange.ts). */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Short names accepted where a grant type is typed (CLI, Admin API); stored as the full name. */
const GRANT_TYPE_ALIASES: Readonly<Record<string, GrantType>> = { device_code: DEVICE_CODE_GRANT, 'token-exchange': TOKEN_EXCHANGE_GRANT };

/** The grant types through which a person signs in (and so may be asked for a verified email or a second factor). */
export function signsInPeople(grantTypes: readonly string[]): boolean {
  return grantTypes.includes('authorization_code') || grantTypes.includes(DEVICE_CODE_GRANT);
}

export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export type ApplicationType = 'web' | 'native';

export interface ClientRegistrationInput {
  readonly name: string;
  readonly redirectUris?: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly grantTypes?: readonly string[];
  /** Space-separated; bounds what the client may ever be granted. Derived when absent. */
  readonly scope?: string;
  /** Identifiers of registered API resources. */
  readonly resources?: readonly string[];
  /** A public (native or browser) client: no secret, token_endpoint_auth_method none. */
  readonly public?: boolean;
  readonly tokenEndpointAuthMethod?: string;
  readonly jwksUri?: string;
  /** OpenID Connect Back-Channel Logout: where Latchkey posts a logout token when the person signs out. */
  readonly backchannelLogoutUri?: string;
  /** Sign-ins for this client finish only once the account's email is verified (a link is mailed first). */
  readonly requireVerifiedEmail?: boolean;
  /** Sign-ins for this client need a second factor (the MFA level). */
  readonly requireMfa?: boolean;
  /** RFC 7591 §2's pages about the client, for people: its home page, logo, terms and privacy policy. */
  readonly about?: ClientAboutInput;
  /** RFC 7591 §2: people responsible for the client (email addresses). */
  readonly contacts?: readonly string[];
  /** Authorization requests must be pushed first (RFC 9126 require_pushed_authorization_requests). */
  readonly requirePar?: boolean;
  /** Every token request must carry a DPoP proof (RFC 9449 dpop_bound_access_tokens). */
  readonly requireDpop?: boolean;
  /** Resource identifiers this client may exchange a person's token for (RFC 8693); needs the token-exchange grant. */
  readonly tokenExchangeAudiences?: readonly string[];
}

/** RFC 7591 §2's human-facing URLs, by their metadata names. */
export const ABOUT_URIS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const;
export type AboutUri = (typeof ABOUT_URIS)[number];
export type ClientAboutInput = Partial<Record<AboutUri, string>>;

export interface ClientRegistration {
  readonly name: string;
  readonly applicationType: ApplicationType;
  readonly tokenEndpointAuthMethod: AuthMethod;
  readonly grantTypes: GrantType[];
  readonly responseTypes: 'code'[];
  readonly redirectUris: string[];
  readonly postLogoutRedirectUris: string[];
  /** Explicit scope tokens, or undefined when the service should derive them. */
  readonly scope: string[] | undefined;
  readonly resources: string[];
  readonly jwksUri: string | undefined;
  readonly backchannelLogoutUri: string | undefined;
  readonly requireVerifiedEmail: boolean;
  readonly requireMfa: boolean;
  readonly about: ClientAboutInput;
  readonly contacts: string[];
  readonly requirePar: boolean;
  readonly requireDpop: boolean;
  readonly tokenExchangeAudiences: string[];
}

const MAX_NAME_LENGTH = 200;
const MAX_CONTACTS = 10;
// RFC 5321's limit for a path, which bounds an address.
const MAX_CONTACT_LENGTH = 254;
const MAX_URI_LENGTH = 2048;
// oidc-provider's own list for native clients: only these count as loopback there.
const NATIVE_LOOPBACKS = new Set(['localhost', '127.0.0.1', '[::1]']);
// RFC 8252 §7.1: private-use schemes are reverse domain names, so they contain a dot.
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/** Checks and normalises a registration; throws InvalidInputError on the first rule broken. */
export function parseClientRegistration(input: ClientRegistrationInput, env: Config['env']): ClientRegistration {
  const name = input.name?.trim() ?? '';
  if (!name) throw new InvalidInputError('client name is required', { field: 'client_name' });
  if (name.length > MAX_NAME_LENGTH) throw new InvalidInputError(`client name is longer than ${MAX_NAME_LENGTH} characters`, { field: 'client_name' });

  const tokenEndpointAuthMethod = parseAuthMethod(input);
  const isPublic = tokenEndpointAuthMethod === 'none';
  const redirectUris = distinct((input.redirectUris ?? []).map((uri) => uri.trim()));
  const postLogoutRedirectUris = distinct((input.postLogoutRedirectUris ?? []).map((uri) => uri.trim()));
  const grantTypes = parseGrantTypes(input.grantTypes, redirectUris.length > 0);

  if (isPublic && grantTypes.includes('client_credentials')) {
    throw new InvalidInputError('a public client cannot use the client_credentials grant: it has no credentials to authenticate with', { field: 'grant_types' });
  }
  const usesCode = grantTypes.includes('authorization_code');
  if (usesCode && redirectUris.length === 0) {
    throw new InvalidInputError('the authorization_code grant needs at least one redirect URI', { field: 'redirect_uris' });
  }
  if (!usesCode && (redirectUris.length > 0 || postLogoutRedirectUris.length > 0)) {
    throw new InvalidInputError('redirect URIs are used only with the authorization_code grant', { field: 'redirect_uris' });
  }
  const people = signsInPeople(grantTypes);
  const requireVerifiedEmail = input.requireVerifiedEmail === true;
  if (requireVerifiedEmail && !people) throw new InvalidInputError('requiring a verified email needs the authorization_code or device_code grant: only people sign in', { field: 'require_verified_email' });
  const requireMfa = input.requireMfa === true;
  if (requireMfa && !people) throw new InvalidInputError('requiring a second factor needs the authorization_code or device_code grant: only people sign in', { field: 'require_mfa' });
  const requirePar = input.requirePar === true;
  if (requirePar && !usesCode) throw new InvalidInputError('requiring pushed authorization requests needs the authorization_code grant: only it makes authorization requests', { field: 'require_pushed_authorization_requests' });
  const requireDpop = input.requireDpop === true;
  const exchanges = grantTypes.includes(TOKEN_EXCHANGE_GRANT);
  if (isPublic && exchanges) {
    throw new InvalidInputError('a public client cannot use the token-exchange grant: it acts on a person\'s token, so it must authenticate', { field: 'grant_types' });
  }
  const tokenExchangeAudiences = distinct((input.tokenExchangeAudiences ?? []).map((audience) => audience.trim()).filter(Boolean));
  if (tokenExchangeAudiences.length > 0 && !exchanges) {
    throw new InvalidInputError(`token-exchange audiences are used only with the ${TOKEN_EXCHANGE_GRANT} grant`, { field: 'token_exchange_audiences' });
  }
  if (exchanges && requireDpop) {
    throw new InvalidInputError('token exchange issues Bearer tokens only: a client that must bind every token with DPoP cannot use it', { field: 'dpop_bound_access_tokens' });
  }
  if (exchanges && tokenExchangeAudiences.length === 0) {
    throw new InvalidInputError('the token-exchange grant needs at least one --token-exchange-audience: the resources this client may exchange tokens for', { field: 'token_exchange_audiences' });
  }

  const applicationType: ApplicationType = [...redirectUris, ...postLogoutRedirectUris].some((uri) => PRIVATE_USE_SCHEME.test(URL.parse(uri)?.protocol ?? ''))
    ? 'native'
    : 'web';
  const rules: UriRules = { env, isPublic, applicationType };
  redirectUris.forEach((uri, index) => checkRedirectUri(uri, 'redirect URI', rules, `redirect_uris[${index}]`));
  postLogoutRedirectUris.forEach((uri, index) => checkRedirectUri(uri, 'post-logout redirect URI', rules, `post_logout_redirect_uris[${index}]`));

  const jwksUri = parseJwksUri(input.jwksUri, tokenEndpointAuthMethod);
  const backchannelLogoutUri = parseBackchannelLogoutUri(input.backchannelLogoutUri, usesCode, env);
  const scope = input.scope === undefined ? undefined : parseScopeTokens(input.scope, 'scope');
  if (scope !== undefined && scope.length === 0) throw new InvalidInputError('scope must not be empty', { field: 'scope' });
  const resources = distinct((input.resources ?? []).map((resource) => resource.trim()));
  const about = parseAbout(input.about ?? {}, env);
  const contacts = parseContacts(input.contacts ?? []);

  return {
    name,
    applicationType,
    tokenEndpointAuthMethod,
    grantTypes,
    responseTypes: usesCode ? ['code'] : [],
    redirectUris,
    postLogoutRedirectUris,
    scope,
    resources,
    jwksUri,
    backchannelLogoutUri,
    requireVerifiedEmail,
    requireMfa,
    about,
    contacts,
    requirePar,
    requireDpop,
    tokenExchangeAudiences,
  };
}

// Shown to people (a consent page may link them), so like a redirect URI:
// absolute http(s), https outside loopback in production, no credentials.
function parseAbout(given: ClientAboutInput, env: Config['env']): ClientAboutInput {
  const about: Partial<Record<AboutUri, string>> = {};
  for (const field of ABOUT_URIS) {
    const uri = given[field]?.trim();
    if (!uri) continue;
    const url = URL.parse(uri);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname || url.username || url.password || uri.length > MAX_URI_LENGTH) {
      throw new InvalidInputError(`${field} "${uri}" must be an absolute http or https URL without credentials`, { field });
    }
    if (url.protocol === 'http:' && env === 'production' && !isLoopbackHost(url.hostname)) {
      throw new InvalidInputError(`${field} "${uri}" must use https in production`, { field });
    }
    about[field] = uri;
  }
  return about;
}

function parseContacts(given: readonly string[]): string[] {
  const contacts = distinct(given.map((contact) => contact.trim()).filter(Boolean));
  if (contacts.length > MAX_CONTACTS) throw new InvalidInputError(`at most ${MAX_CONTACTS} contacts`, { field: 'contacts' });
  contacts.forEach((contact, index) => {
    // An address, not a full RFC 5322 parse: one @ with text on both sides, no spaces or controls.
    if (contact.length > MAX_CONTACT_LENGTH || !/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u.test(contact)) {
      throw new InvalidInputError(`contact "${contact}" is not an email address`, { field: `contacts[${index}]` });
    }
  });
  return contacts;
}

function parseAuthMethod(input: ClientRegistrationInput): AuthMethod {
  const method = input.tokenEndpointAuthMethod;
  if (method !== undefined && !(AUTH_METHODS as readonly string[]).includes(method)) {
    throw new InvalidInputError(`token endpoint auth method "${method}" is not one of ${AUTH_METHODS.join(', ')}`, { field: 'token_endpoint_auth_method' });
  }
  if (input.public) {
    if (method !== undefined && method !== 'none') {
      throw new InvalidInputError(`a public client authenticates with "none", not "${method}"`, { field: 'token_endpoint_auth_method' });
    }
    return 'none';
  }
  return (method as AuthMethod | undefined) ?? 'client_secret_basic';
}

function parseGrantTypes(given: readonly string[] | undefined, hasRedirectUris: boolean): GrantType[] {
  if (given === undefined) {
    if (!hasRedirectUris) {
      throw new InvalidInputError('give at least one redirect URI (for the authorization_code grant), or choose the client_credentials grant for a machine client', { field: 'redirect_uris' });
    }
    return ['authorization_code', 'refresh_token'];
  }
  const grantTypes = distinct(given.map((grant) => grant.trim()).filter(Boolean).map((grant) => GRANT_TYPE_ALIASES[grant] ?? grant));
  if (grantTypes.length === 0) throw new InvalidInputError('at least one grant type is required', { field: 'grant_types' });
  for (const grant of grantTypes) {
    if (!(GRANT_TYPES as readonly string[]).includes(grant)) {
      throw new InvalidInputError(`unknown grant type "${grant}" (allowed: ${GRANT_TYPES.join(', ')}; device_code and token-exchange for short)`, { field: 'grant_types' });
    }
  }
  if (grantTypes.includes('refresh_token') && !signsInPeople(grantTypes)) {
    throw new InvalidInputError('the refresh_token grant is only useful together with authorization_code or device_code', { field: 'grant_types' });
  }
  return grantTypes as GrantType[];
}

interface UriRules {
  readonly env: Config['env'];
  readonly isPublic: boolean;
  readonly applicationType: ApplicationType;
}

// The redirect URI is where codes are delivered, so it must be exactly known:
// absolute, no fragment (RFC 6749 §3.1.2), no plain http to a remote host in
// production, and custom schemes only for apps that cannot keep a secret anyway.
function checkRedirectUri(uri: string, label: string, rules: UriRules, field: string): void {
  if (uri.length > MAX_URI_LENGTH) throw new InvalidInputError(`${label} is longer than ${MAX_URI_LENGTH} characters`, { field });
  const url = URL.parse(uri);
  if (!url) throw new InvalidInputError(`${label} "${uri}" is not an absolute URI`, { field });
  if (uri.includes('#')) throw new InvalidInputError(`${label} "${uri}" must not contain a fragment`, { field });
  if (url.username || url.password) throw new InvalidInputError(`${label} "${uri}" must not contain credentials`, { field });

  if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (!url.hostname) throw new InvalidInputError(`${label} "${uri}" has no host`, { field });
    if (rules.applicationType === 'native') {
      // oidc-provider's rules for native apps (RFC 8252 §7.3, §7.2).
      if (url.protocol === 'http:' && !NATIVE_LOOPBACKS.has(url.hostname)) {
        throw new InvalidInputError(`${label} "${uri}": a native app may use http only with localhost, 127.0.0.1 or [::1]`, { field });
      }
      if (url.protocol === 'https:' && NATIVE_LOOPBACKS.has(url.hostname)) {
        throw new InvalidInputError(`${label} "${uri}": a native app must use http, not https, for a loopback redirect`, { field });
      }
    } else if (url.protocol === 'http:' && rules.env === 'production' && !isLoopbackHost(url.hostname)) {
      throw new InvalidInputError(`${label} "${uri}" must use https in production (http is allowed only for loopback hosts)`, { field });
    }
    return;
  }
  if (!PRIVATE_USE_SCHEME.test(url.protocol)) {
    throw new InvalidInputError(`${label} "${uri}" must use https, http, or a reverse-domain private-use scheme such as com.example.app:`, { field });
  }
  if (!rules.isPublic) {
    throw new InvalidInputError(`${label} "${uri}": private-use URI schemes are allowed only for public (native) clients`, { field });
  }
}

function parseJwksUri(value: string | undefined, method: AuthMethod): string | undefined {
  const jwksUri = value?.trim() || undefined;
  if (method !== 'private_key_jwt') {
    if (jwksUri !== undefined) throw new InvalidInputError('a JWKS URI is used only with the private_key_jwt auth method', { field: 'jwks_uri' });
    return undefined;
  }
  if (jwksUri === undefined) throw new InvalidInputError('the private_key_jwt auth method needs a JWKS URI', { field: 'jwks_uri' });
  const url = URL.parse(jwksUri);
  if (!url || url.protocol !== 'https:' || !url.hostname || jwksUri.includes('#')) {
    throw new InvalidInputError(`JWKS URI "${jwksUri}" must be an absolute https URL without a fragment`, { field: 'jwks_uri' });
  }
  return jwksUri;
}

// Back-Channel Logout 1.0 §2.2: an absolute http(s) URL without a fragment,
// called server to server; like a redirect URI, https outside loopback in production.
function parseBackchannelLogoutUri(value: string | undefined, usesCode: boolean, env: Config['env']): string | undefined {
  const uri = value?.trim() || undefined;
  if (uri === undefined) return undefined;
  if (!usesCode) throw new InvalidInputError('a back-channel logout URI is used only with the authorization_code grant', { field: 'backchannel_logout_uri' });
  const url = URL.parse(uri);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname || uri.includes('#') || uri.length > MAX_URI_LENGTH) {
    throw new InvalidInputError(`back-channel logout URI "${uri}" must be an absolute http or https URL without a fragment`, { field: 'backchannel_logout_uri' });
  }
  if (url.protocol === 'http:' && env === 'production' && !isLoopbackHost(url.hostname)) {
    throw new InvalidInputError(`back-channel logout URI "${uri}" must use https in production (http is allowed only for loopback hosts)`, { field: 'backchannel_logout_uri' });
  }
  return uri;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
