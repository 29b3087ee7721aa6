// The client for an OpenID Connect upstream: openid-client v6 does all of the
// protocol (discovery, PKCE S256, state, nonce, the code exchange, every ID
// token check: issuer, audience, signature, expiry, nonce), so nothing of
// OAuth is written by hand here.
//
// The discovered Configuration is kept per provider, keyed by its id and its
// updatedAt, so `latchkey idp update` takes effect at the next sign-in; it is
// fetched again after an hour, and a failed discovery is never kept (the next
// sign-in tries again). ID token signatures are checked against the
// upstream's JWKS (enableNonRepudiationChecks: openid-client would otherwise
// skip them for a token straight from the token endpoint), which lives with
// the Configuration's server metadata in oauth4webapi: kept for 5 minutes,
// and fetched again when an ID token names a kid it does not have (at most
// once a minute, so a stream of tokens with made-up kids cannot make us
// hammer the upstream).
//
// Plain http is refused, except to a loopback upstream outside production (a
// second Latchkey on this machine in development and tests).
import * as oidc from 'openid-client';
import { upstreamFailure } from './upstream-failure.ts';
import { isLoopbackUrl, UpstreamError, type UpstreamChecks, type UpstreamClient, type UpstreamIdentity, type UpstreamProvider } from './upstream-identity.ts';

export interface OidcUpstreamDeps {
  /** The provider's client secret, opened from its sealed form. */
  readonly secretOf: (provider: UpstreamProvider) => Promise<string>;
  /** Outside production: http to a loopback upstream is allowed. */
  readonly allowLoopbackHttp: boolean;
  /** Seconds each request to the upstream may take. */
  readonly timeoutSeconds?: number;
  /** How long a discovered configuration is used before it is fetched again. */
  readonly discoveryMaxAgeMs?: number;
  readonly now?: () => number;
}

interface CachedConfiguration {
  readonly version: string;
  readonly fetchedAt: number;
  readonly configuration: Promise<oidc.Configuration>;
}

/** client_secret_basic (the spec's default) unless the upstream says it supports only client_secret_post. */
function clientAuthFor(secret: string): oidc.ClientAuth {
  const basic = oidc.ClientSecretBasic(secret);
  const post = oidc.ClientSecretPost(secret);
  return (as, client, body, headers) => {
    const supported = as.token_endpoint_auth_methods_supported;
    const usePost = Array.isArray(supported) && !supported.includes('client_secret_basic') && supported.includes('client_secret_post');
    return (usePost ? post : basic)(as, client, body, headers);
  };
}

const text = (value: unknown, max: number): string | undefined => (typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined);

export function createOidcUpstream(deps: OidcUpstreamDeps): UpstreamClient {
  const timeout = deps.timeoutSeconds ?? 10;
  const maxAge = deps.discoveryMaxAgeMs ?? 3600_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, CachedConfiguration>();

  async function discover(provider: UpstreamProvider): Promise<oidc.Configuration> {
    const insecure = provider.issuer.startsWith('http:');
    if (insecure && !(deps.allowLoopbackHttp && isLoopbackUrl(provider.issuer))) {
      throw new UpstreamError('upstream_misconfigured', 'the issuer is plain http; only https upstreams are allowed (http only to a loopback upstream outside production)');
    }
    const secret = await deps.secretOf(provider);
    return oidc.discovery(new URL(provider.issuer), provider.clientId, { client_secret: secret }, clientAuthFor(secret), {
      timeout,
      // By default openid-client trusts an ID token from the token endpoint on
      // the strength of TLS alone (OIDC Core 3.1.3.7) and never looks at the
      // JWKS; its signature is checked here all the same, so a token that got
      // past TLS (a loopback http upstream, a proxy) is still refused.
      execute: [oidc.enableNonRepudiationChecks, ...(insecure ? [oidc.allowInsecureRequests] : [])],
    });
  }

  function configurationOf(provider: UpstreamProvider): Promise<oidc.Configuration> {
    const version = `${provider.updatedAt.getTime()}:${provider.issuer}:${provider.clientId}`;
    const cached = cache.get(provider.id);
    if (cached && cached.version === version && now() - cached.fetchedAt < maxAge) return cached.configuration;
    const entry: CachedConfiguration = { version, fetchedAt: now(), configuration: discover(provider) };
    cache.set(provider.id, entry);
    // A failed discovery is not kept: the next sign-in asks the upstream again.
    entry.configuration.catch(() => {
      if (cache.get(provider.id) === entry) cache.delete(provider.id);
    });
    return entry.configuration;
  }

  return {
    async begin(provider, redirectUri) {
      try {
        const configuration = await configurationOf(provider);
        const checks: UpstreamChecks = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
        const url = oidc.buildAuthorizationUrl(configuration, {
          redirect_uri: redirectUri,
          scope: provider.scope,
          response_type: 'code',
          state: checks.state,
          nonce: checks.nonce,
          code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
          code_challenge_method: 'S256',
        });
        return { url, checks };
      } catch (error) {
        throw upstreamFailure(error);
      }
    },

    async finish(provider, callbackUrl, checks): Promise<UpstreamIdentity> {
      try {
        const configuration = await configurationOf(provider);
        const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        const idToken = tokens.claims();
        if (!idToken) throw new UpstreamError('upstream_invalid_response', 'the token response has no ID token');
        let claims: Record<string, unknown> = idToken;
        // Most providers put email and profile in userinfo, not in the ID token; its `sub` must be the ID token's.
        if (idToken.email === undefined && configuration.serverMetadata().userinfo_endpoint) {
          claims = { ...(await oidc.fetchUserInfo(configuration, tokens.access_token, idToken.sub)), ...idToken };
        }
        const picture = text(claims.picture, 2048);
        return {
          subject: idToken.sub,
          email: text(claims.email, 320),
          // Only an explicit true counts: a missing claim is not a verified email.
          emailVerified: claims.email_verified === true,
          name: text(claims.name, 200),
          picture: picture && /^https?:\/\//i.test(picture) ? picture : undefined,
        };
      } catch (error) {
        throw upstreamFailure(error);
      }
    },
  };
}
