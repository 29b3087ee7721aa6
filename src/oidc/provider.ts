// Builds the oidc-provider instance: one configuration object, validated by
// oidc-provider at construction, so a bad setting fails at start, not at the
// first request. Everything stateful comes in through `deps`.
import type { Context } from 'koa';
import { Provider, type AdapterFactory, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/config.ts';
import { providerPagePolicy } from '../http/security-headers.ts';
import type { Views } from '../http/views.ts';
import { message, verbatim } from '../i18n/message.ts';
import { createInteractionPolicy } from '../interactions/interaction-policy.ts';
import { ACR_VALUES } from '../interactions/acr.ts';
import { createLogoutPages } from '../interactions/logout-pages.ts';
import { createProviderFetch } from '../backchannel/provider-logout-tokens.ts';
import type { LogoutNotices } from '../backchannel/logout-notices.ts';
import { createFindAccount, type AccountLookup, type SignInProviderLookup } from './find-account.ts';
import { addGrantReference } from './grant-reference.ts';
import { addAuthenticationContext } from './authentication-context.ts';
import { createLoadExistingGrant } from './existing-grant.ts';
import { createResourceIndicators, type PersonScopes, type ResourceLookup } from './resource-indicators.ts';
import { createRoleScopes } from './role-scopes.ts';
import { OIDC_SCOPES, SCOPE_CLAIMS } from './scopes.ts';
import { introspectionAllowedPolicy, revocationAllowedPolicy } from './token-access-policy.ts';
import { exchangedTokenClaims } from './token-exchange.ts';
import { answerUnauthorizedClient } from './unauthorized-client.ts';
import { answerDpopProofRequired } from './dpop-proof-required.ts';
import { answerDatabaseUnavailable, markDatabaseOutages } from './database-unavailable.ts';
import { cachePublicMetadata } from './public-metadata-caching.ts';
import { compareClientSecretsWith } from './provider-internals.ts';
import { clientSecretMatches } from '../clients/client-secret.ts';
import { isDatabaseUnavailable } from '../db/availability.ts';
import { throttleClientAuthentication, type ClientAuthThrottleDeps } from './client-auth-throttle.ts';
import { createDevicePages, USER_CODE_CHARSET, USER_CODE_MASK } from './device-pages.ts';
import { REGISTRATION_PATH } from '../registration/registration-path.ts';

export interface ProviderDeps {
  readonly config: Config;
  readonly adapter: AdapterFactory;
  /** Private signing JWKs, the key to sign with first for each alg. */
  readonly jwks: { keys: JWK[] };
  /** Cookie-signing keys, newest first. */
  readonly cookieKeys: string[];
  readonly resources: ResourceLookup;
  readonly accounts: AccountLookup;
  /** The upstream of a federated sign-in, for the ID token's idp claim (federation/federated-sign-ins.ts). */
  readonly signInProvider?: SignInProviderLookup;
  readonly views: Views;
  /** Called for each request that failed because the database was unreachable. */
  readonly onDatabaseOutage?: (error: unknown) => void;
  /** Back-off for failed client authentication (token, introspection, revocation). */
  readonly clientAuthThrottle: ClientAuthThrottleDeps;
  /** Whether this refresh rotates its token: always, except for a retry answered inside the reuse grace (refresh-retries.ts). */
  readonly rotatesRefreshToken: (ctx: KoaContextWithOIDC) => boolean;
  /** Where the logout tokens oidc-provider would post at end_session are queued instead (backchannel/provider-logout-tokens.ts). */
  readonly logoutNotices: Pick<LogoutNotices, 'queue'>;
}

/** Asymmetric algorithms only: Latchkey keeps no client secret in clear, so nothing HS* can be verified. */
const SIGNING_ALGS = ['ES256', 'RS256', 'EdDSA'] as const;

/**
 * oidc-provider's finished answers put right (503 while the database is away,
 * RFC 6749's unauthorized_client, RFC 9449's invalid_dpop_proof) and made cacheable (discovery, JWKS). The
 * outer request layer runs this on every response (http/provider-response-fixups.ts): as
 * post-layers inside the provider they were async layers of their own, and
 * each costs every request.
 */
/** DPoP proof algorithms accepted at the token and userinfo endpoints. */
export const DPOP_SIGNING_ALGS = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;

export function finishProviderResponse(ctx: Context): void {
  answerDatabaseUnavailable(ctx);
  answerUnauthorizedClient(ctx);
  answerDpopProofRequired(ctx);
  cachePublicMetadata(ctx);
}

/**
 * Every oidc-provider 9 feature, on or off, named here so none is left to the
 * library's defaults (which change between versions: DPoP and PAR are on by
 * default). test/unit/provider-features.test.ts fails when an upgrade brings
 * a feature this list does not name.
 */
export function providerFeatures(deps: Pick<ProviderDeps, 'views' | 'resources'> & { readonly personScopes?: PersonScopes }): NonNullable<Configuration['features']> {
  return {
    // What Latchkey serves.
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: introspectionAllowedPolicy },
    revocation: { enabled: true, allowedPolicy: revocationAllowedPolicy },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true, ...createLogoutPages(deps.views) },
    // Back-Channel Logout 1.0: advertised, and clients' backchannel_logout_uri
    // accepted; the logout tokens are delivered through Latchkey's queue
    // (src/backchannel/), not by oidc-provider's fire-and-forget post.
    backchannelLogout: { enabled: true },
    resourceIndicators: createResourceIndicators(deps.resources, deps.personScopes),
    // The device authorization grant (RFC 8628), for clients registered for it
    // (client-validation.ts): /device/auth for the device, /device for the
    // person, rendered from views/ (device-pages.ts). Codes easy to type:
    // consonants without look-alikes, two groups of four; what is typed is
    // normalised (case, spaces, dashes) before the lookup.
    deviceFlow: { enabled: true, charset: USER_CODE_CHARSET, mask: USER_CODE_MASK, ...createDevicePages(deps.views) },
    // PAR (RFC 9126): served to every client and advertised; required of a
    // client whose metadata says require_pushed_authorization_requests
    // (--require-par, or every registered client with LATCHKEY_REQUIRE_PAR:
    // client-metadata.ts). Not the library's server-wide switch: that would
    // bind the built-in account client too, whose request Latchkey builds
    // itself (account-client.ts). Discovery says it when server-wide (below).
    // Client authentication at /request goes through the same throttle as
    // /token (client-auth-throttle.ts).
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
    // DPoP (RFC 9449): a client that sends a proof gets tokens bound to its key
    // (cnf.jkt, token_type DPoP; refresh tokens of public clients are bound
    // too); a client registered with --require-dpop (dpop_bound_access_tokens)
    // must. No nonces (they cost every bound request a round trip and a
    // shared secret); proofs are fresh by iat instead, and a proof's jti is
    // refused the second time through oidc-provider's ReplayDetection model,
    // which our adapter stores in the shared artifact table, so a proof
    // replayed at another instance is refused too, and claims it with one
    // conditional insert, so a proof sent many times at once is taken once.
    // @latchkey/verify checks proofs at resource servers (its `dpop` option).
    dPoP: { enabled: true, allowReplay: false },
    devInteractions: { enabled: false },
    // Off: Latchkey neither needs nor tests them.
    attestClientAuth: { enabled: false },
    ciba: { enabled: false },
    claimsParameter: { enabled: false },
    clientIdMetadataDocument: { enabled: false },
    encryption: { enabled: false },
    externalSigningSupport: { enabled: false },
    fapi: { enabled: false },
    jwtIntrospection: { enabled: false },
    jwtResponseModes: { enabled: false },
    jwtUserinfo: { enabled: false },
    mTLS: { enabled: false },
    openid4vci: { enabled: false },
    // Off: dynamic registration (LATCHKEY_REGISTRATION) is Latchkey's own /reg,
    // which makes clients through the client service (registration-routes.ts).
    registration: { enabled: false },
    registrationManagement: { enabled: false },
    requestObjects: { enabled: false },
    richAuthorizationRequests: { enabled: false },
    rpMetadataChoices: { enabled: false },
    webMessageResponseMode: { enabled: false },
  };
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config } = deps;
  const secureCookies = config.issuer.startsWith('https:');
  // What a person may get for the admin resource: what their role allows.
  const roleScopes = createRoleScopes({ issuer: config.issuer, accounts: deps.accounts });

  const configuration: Configuration = {
    adapter: deps.adapter,
    findAccount: createFindAccount(deps.accounts, deps.signInProvider),
    jwks: deps.jwks,
    cookies: {
      keys: deps.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: secureCookies, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure: secureCookies, signed: true },
    },
    scopes: [...OIDC_SCOPES],
    // acr and amr (how the person signed in, interactions/acr.ts) go with
    // `openid`: oidc-provider masks ID token claims by scope, and without
    // this an ID token carries acr only when acr_values asked for it, and amr never.
    // So does idp, the upstream of a federated sign-in (find-account.ts).
    claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, scope === 'openid' ? [...claims, 'acr', 'amr', 'idp'] : [...claims]])),
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: [...SIGNING_ALGS, 'PS256'],
      requestObjectSigningAlgValues: [...SIGNING_ALGS, 'PS256'],
      idTokenSigningAlgValues: [...SIGNING_ALGS],
      userinfoSigningAlgValues: [...SIGNING_ALGS],
      introspectionSigningAlgValues: [...SIGNING_ALGS],
      authorizationSigningAlgValues: [...SIGNING_ALGS],
      // What a client may sign DPoP proofs with (asymmetric only, RFC 9449 §4.2); advertised as dpop_signing_alg_values_supported.
      dPoPSigningAlgValues: [...DPOP_SIGNING_ALGS],
    },
    extraClientMetadata: {
      // require_verified_email: the login step reads it (self-service/email-verification.ts);
      // require_mfa: the step-up check and the code step (interactions/mfa-wanted.ts).
      // token_exchange_audiences: the resources a client may exchange a person's token for (token-exchange.ts).
      properties: ['resources', 'resource_scopes', 'require_verified_email', 'require_mfa', 'token_exchange_audiences'],
      validator(_ctx, key, value) {
        if (value === undefined) return;
        if (key === 'require_verified_email' || key === 'require_mfa') {
          if (typeof value !== 'boolean') throw new TypeError(`${key} must be a boolean`);
          return;
        }
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
          throw new TypeError(`${key} must be an array of strings`);
        }
      },
    },
    fetch: createProviderFetch(deps.logoutNotices),
    // Redirect URIs are always matched exactly, and always sent.
    allowOmittingSingleRegisteredRedirectUri: false,
    // PKCE for every code flow; 'none' asks for no code at all (checkPKCE applies to code only).
    pkce: { required: () => true },
    // 'none' is for the built-in account client only (account-client.ts):
    // registered clients are always stored with response_types [code] or []
    // (client-validation.ts), and oidc-provider refuses a response type a
    // client does not list.
    responseTypes: ['code', 'none'],
    loadExistingGrant: createLoadExistingGrant(roleScopes),
    rotateRefreshToken: deps.rotatesRefreshToken,
    // JWT access tokens name their grant, so introspection can tell when it is
    // revoked, and say how the person signed in (acr, amr, auth_time), so a
    // resource server can demand a second factor.
    // An exchanged token's act, acr, amr and auth_time (RFC 8693, token-exchange.ts).
    extraTokenClaims: (_ctx, token) => exchangedTokenClaims(token),
    formats: {
      customizers: {
        jwt(ctx, token, jwt) {
          addGrantReference(ctx, token, jwt);
          addAuthenticationContext(ctx, token, jwt);
        },
      },
    },
    features: providerFeatures({ ...deps, personScopes: roleScopes }),
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.clientCredentials,
      AuthorizationCode: config.ttl.authorizationCode,
      IdToken: config.ttl.idToken,
      RefreshToken: config.ttl.refreshToken,
      Session: config.ttl.session,
      Interaction: config.ttl.interaction,
      Grant: config.ttl.grant,
      DeviceCode: config.ttl.deviceCode,
    },
    // The languages of the sign-in, consent and logout pages (locales/), for ui_locales.
    // require_pushed_authorization_requests (RFC 9126 §5) when LATCHKEY_REQUIRE_PAR binds every registered client.
    // registration_endpoint when dynamic registration is on: served by Latchkey's own /reg (registration/registration-routes.ts), not oidc-provider's feature.
    discovery: {
      claim_types_supported: ['normal'],
      ui_locales_supported: [...deps.views.locales],
      ...(config.requirePar && { require_pushed_authorization_requests: true }),
      ...(config.registration !== 'off' && { registration_endpoint: `${config.issuer}${REGISTRATION_PATH}` }),
    },
    // What a sign-in reached (interactions/acr.ts); advertised as acr_values_supported.
    acrValues: [...ACR_VALUES],
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: createInteractionPolicy({ mfaRequired: config.mfa === 'required' }),
    },
    clientBasedCORS(ctx, origin, client) {
      // Browsers may call the token and userinfo endpoints only from the
      // origin of one of the client's own redirect URIs.
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
    },
    async renderError(ctx: KoaContextWithOIDC, out, error) {
      ctx.type = 'html';
      const locale = deps.views.localeFor(ctx, ctx.oidc?.params?.ui_locales);
      if (isDatabaseUnavailable(error)) {
        ctx.body = deps.views.render('error', { title: 'error.unavailable.title', message: message('error.unavailable.message'), code: 'temporarily_unavailable' }, locale);
        return;
      }
      const status = (error as { status?: number }).status ?? 500;
      // oidc-provider's error_description is its own English, shown as it comes.
      const description = status >= 500 ? message('error.server.retry') : out.error_description ? verbatim(out.error_description) : message('error.client.message');
      ctx.body = deps.views.render('error', { title: status >= 500 ? 'error.server.title' : 'error.client.title', message: description, code: out.error }, locale);
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  // Secrets are stored as digests: the presented one is hashed, then compared (provider-internals.ts).
  compareClientSecretsWith(provider, clientSecretMatches);
  // /device too: a verification_uri_complete link answers with oidc-provider's auto-submitting form to the confirmation page.
  provider.use(providerPagePolicy([provider.pathFor('authorization'), provider.pathFor('end_session'), provider.pathFor('code_verification')]));
  // Innermost: it reads the outcome, and what oidc-provider parsed, as soon as the route has answered.
  throttleClientAuthentication(provider, deps.clientAuthThrottle);
  markDatabaseOutages(provider, deps.onDatabaseOutage ?? (() => {}));
  return provider;
}
