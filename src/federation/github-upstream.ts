// The client for GitHub (and GitHub Enterprise Server): plain OAuth 2.0, no
// ID token. openid-client still does the protocol: a Configuration built from
// GitHub's fixed endpoints (it has no discovery document), the authorization
// URL with state and PKCE (S256), the callback's state check and the code
// exchange (oauth4webapi asks for JSON, which GitHub answers when asked).
// Who signed in comes from the API with that token: GET /user for the id,
// name and avatar, GET /user/emails for the primary email and whether GitHub
// verified it.
//
// github.com keeps its API at https://api.github.com; an Enterprise server
// (issuer = its base URL) at <base>/api/v3.
import * as oidc from 'openid-client';
import { upstreamFailure } from './upstream-failure.ts';
import { isLoopbackUrl, UpstreamError, type UpstreamChecks, type UpstreamClient, type UpstreamIdentity, type UpstreamProvider } from './upstream-identity.ts';

export interface GithubUpstreamDeps {
  readonly secretOf: (provider: UpstreamProvider) => Promise<string>;
  readonly allowLoopbackHttp: boolean;
  readonly timeoutSeconds?: number;
}

const GITHUB_COM = 'https://github.com';

/** The base URL without a trailing slash. */
const baseOf = (provider: UpstreamProvider) => (provider.issuer || GITHUB_COM).replace(/\/+$/, '');

export function githubApiBase(issuer: string): string {
  const base = issuer.replace(/\/+$/, '');
  return base === GITHUB_COM ? 'https://api.github.com' : `${base}/api/v3`;
}

interface GithubUser {
  readonly id?: unknown;
  readonly name?: unknown;
  readonly login?: unknown;
  readonly avatar_url?: unknown;
  readonly email?: unknown;
}

interface GithubEmail {
  readonly email?: unknown;
  readonly primary?: unknown;
  readonly verified?: unknown;
}

const text = (value: unknown, max: number): string | undefined => (typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined);

export function createGithubUpstream(deps: GithubUpstreamDeps): UpstreamClient {
  const timeout = deps.timeoutSeconds ?? 10;

  async function configurationOf(provider: UpstreamProvider): Promise<oidc.Configuration> {
    const base = baseOf(provider);
    const insecure = base.startsWith('http:');
    if (insecure && !(deps.allowLoopbackHttp && isLoopbackUrl(base))) {
      throw new UpstreamError('upstream_misconfigured', 'the GitHub base URL is plain http; only https is allowed (http only to a loopback server outside production)');
    }
    const secret = await deps.secretOf(provider);
    const configuration = new oidc.Configuration(
      { issuer: base, authorization_endpoint: `${base}/login/oauth/authorize`, token_endpoint: `${base}/login/oauth/access_token` },
      provider.clientId,
      { client_secret: secret },
      // GitHub takes the client's credentials in the form body.
      oidc.ClientSecretPost(secret),
    );
    configuration.timeout = timeout;
    if (insecure) oidc.allowInsecureRequests(configuration);
    return configuration;
  }

  async function api<T>(configuration: oidc.Configuration, token: string, url: string): Promise<T> {
    const response = await oidc.fetchProtectedResource(configuration, token, new URL(url), 'GET', null, new Headers({ accept: 'application/vnd.github+json', 'user-agent': 'Latchkey', 'x-github-api-version': '2022-11-28' }));
    if (!response.ok) throw new UpstreamError('upstream_misconfigured', `GET ${new URL(url).pathname} answered ${response.status}`);
    try {
      return (await response.json()) as T;
    } catch {
      throw new UpstreamError('upstream_misconfigured', `GET ${new URL(url).pathname} did not answer JSON`);
    }
  }

  return {
    async begin(provider, redirectUri) {
      try {
        const configuration = await configurationOf(provider);
        // No nonce: there is no ID token to carry one. Kept in the checks all the same, so both clients store one shape.
        const checks: UpstreamChecks = { state: oidc.randomState(), nonce: '', codeVerifier: oidc.randomPKCECodeVerifier() };
        const url = oidc.buildAuthorizationUrl(configuration, {
          redirect_uri: redirectUri,
          scope: provider.scope,
          state: checks.state,
          code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
          code_challenge_method: 'S256',
          // Always ask the person, even when they authorized this app before: no silent sign-up on a shared computer.
          prompt: 'select_account',
        });
        return { url, checks };
      } catch (error) {
        throw upstreamFailure(error);
      }
    },

    async finish(provider, callbackUrl, checks): Promise<UpstreamIdentity> {
      try {
        const configuration = await configurationOf(provider);
        const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state });
        const apiBase = githubApiBase(baseOf(provider));
        const user = await api<GithubUser>(configuration, tokens.access_token, `${apiBase}/user`);
        if ((typeof user.id !== 'number' && typeof user.id !== 'string') || user.id === '') throw new UpstreamError('upstream_misconfigured', 'GET /user has no id');
        // The primary address, and whether GitHub verified it; without the user:email scope, only the public one (unverified for us).
        const emails = await api<unknown>(configuration, tokens.access_token, `${apiBase}/user/emails`).catch(() => []);
        const primary = Array.isArray(emails) ? (emails as GithubEmail[]).find((entry) => entry?.primary === true) : undefined;
        const avatar = text(user.avatar_url, 2048);
        return {
          subject: String(user.id),
          email: text(primary?.email, 320) ?? text(user.email, 320),
          emailVerified: primary?.verified === true && typeof primary.email === 'string',
          name: text(user.name, 200) ?? text(user.login, 200),
          picture: avatar && /^https?:\/\//i.test(avatar) ? avatar : undefined,
        };
      } catch (error) {
        throw upstreamFailure(error);
      }
    },
  };
}
