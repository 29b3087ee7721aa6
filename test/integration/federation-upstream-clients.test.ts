// The upstream clients on their own, against a small OpenID Connect provider
// over real HTTP (test/helpers/federation.ts): discovery is cached per
// provider and version (an update takes effect, a failure is not kept), the
// JWKS is cached and fetched again for an unknown kid (at most once a
// minute: openid-client's oauth4webapi), ID tokens from another issuer or
// audience, with another nonce, expired or signed with an unknown key are
// refused with upstream_invalid_response, and plain http is refused except to
// a loopback upstream outside production.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOidcUpstream } from '../../src/federation/oidc-upstream.ts';
import { githubApiBase } from '../../src/federation/github-upstream.ts';
import { UpstreamError, type UpstreamProvider } from '../../src/federation/upstream-identity.ts';
import { startFakeOidc, type FakeOidc, type IdTokenTwist } from '../helpers/federation.ts';

const REDIRECT = 'http://127.0.0.1:1/federation/fake/callback';
let fake: FakeOidc;

beforeAll(async () => {
  fake = await startFakeOidc({ clientId: 'downstream', clientSecret: 'shh' });
});

afterAll(async () => {
  await fake?.stop();
});

afterEach(() => {
  vi.useRealTimers();
  fake.state.twist = {};
  fake.state.discoveryStatus = 200;
  fake.state.discoveredIssuer = undefined;
});

let versions = 0;
const providerAt = (issuer: string, overrides: Partial<UpstreamProvider> = {}): UpstreamProvider => ({
  id: `idp-${++versions}`,
  slug: 'fake',
  name: 'Fake',
  type: 'oidc',
  issuer,
  clientId: 'downstream',
  scope: 'openid email profile',
  updatedAt: new Date(),
  ...overrides,
});

const newClient = (options: { allowLoopbackHttp?: boolean } = {}) => createOidcUpstream({ secretOf: async () => 'shh', allowLoopbackHttp: options.allowLoopbackHttp ?? true, timeoutSeconds: 2 });

/** begin, the upstream's authorize (which approves at once), finish. */
async function signIn(client: ReturnType<typeof newClient>, provider: UpstreamProvider) {
  const { url, checks } = await client.begin(provider, REDIRECT);
  const back = await fetch(url, { redirect: 'manual' });
  return client.finish(provider, new URL(back.headers.get('location')!), checks);
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return error.code;
    throw error;
  }
  throw new Error('expected the round trip to fail');
}

describe('the OIDC upstream client', () => {
  it('signs in: PKCE S256, state and nonce sent; the identity read from the validated ID token', async () => {
    const client = newClient();
    const provider = providerAt(fake.origin);
    const { url } = await client.begin(provider, REDIRECT);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ client_id: 'downstream', redirect_uri: REDIRECT, response_type: 'code', scope: 'openid email profile', code_challenge_method: 'S256' });
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(await signIn(client, provider)).toEqual({ subject: 'fake-subject-1', email: 'fake@example.test', emailVerified: true, name: 'Fake Person', picture: undefined });
  });

  it('takes only an explicit email_verified: true as verified', async () => {
    const client = newClient();
    const provider = providerAt(fake.origin);
    for (const value of [false, 'true', undefined]) {
      fake.state.twist = { claims: { email_verified: value } };
      expect((await signIn(client, provider)).emailVerified).toBe(false);
    }
  });

  const twists: [string, IdTokenTwist][] = [
    ['another issuer', { iss: 'https://evil.example.test' }],
    ['another audience', { aud: 'some-other-client' }],
    ['another nonce', { nonce: 'not-the-one-sent' }],
    ['an expired token', { expiresIn: -600 }],
    ['a key the JWKS does not list', { unknownKey: true }],
  ];
  it.each(twists)('refuses an ID token with %s', async (_case, twist) => {
    const client = newClient();
    const provider = providerAt(fake.origin);
    fake.state.twist = twist;
    expect(await failureOf(signIn(client, provider))).toBe('upstream_invalid_response');
  });

  it('caches discovery per provider version, and a change of the provider takes effect', async () => {
    const client = newClient();
    const provider = providerAt(fake.origin);
    const before = fake.state.discoveryRequests;
    await client.begin(provider, REDIRECT);
    await client.begin(provider, REDIRECT);
    expect(fake.state.discoveryRequests - before).toBe(1);
    const updated = { ...provider, clientId: 'renamed', updatedAt: new Date(provider.updatedAt.getTime() + 1000) };
    const { url } = await client.begin(updated, REDIRECT);
    expect(url.searchParams.get('client_id')).toBe('renamed');
    expect(fake.state.discoveryRequests - before).toBe(2);
  });

  it('does not keep a failed discovery: the next sign-in asks again', async () => {
    const client = newClient();
    const provider = providerAt(fake.origin);
    fake.state.discoveryStatus = 503;
    expect(await failureOf(client.begin(provider, REDIRECT))).toBe('upstream_misconfigured');
    fake.state.discoveryStatus = 200;
    await expect(client.begin(provider, REDIRECT)).resolves.toBeTruthy();
  });

  it('refuses a discovery document that names another issuer', async () => {
    fake.state.discoveredIssuer = 'https://elsewhere.example.test';
    expect(await failureOf(newClient().begin(providerAt(fake.origin), REDIRECT))).toBe('upstream_misconfigured');
  });

  it('keeps the JWKS, and fetches it again when a token names an unknown kid (after the one-minute floor)', async () => {
    const client = newClient();
    const provider = providerAt(fake.origin);
    const before = fake.state.jwksRequests;
    await signIn(client, provider);
    await signIn(client, provider);
    expect(fake.state.jwksRequests - before).toBe(1);

    await fake.rotateKey();
    // Within a minute of the last fetch, an unknown kid is refused without asking again: no stampede on made-up kids.
    expect(await failureOf(signIn(client, provider))).toBe('upstream_invalid_response');
    expect(fake.state.jwksRequests - before).toBe(1);

    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 61_000);
    expect((await signIn(client, provider)).subject).toBe('fake-subject-1');
    expect(fake.state.jwksRequests - before).toBe(2);
  });

  it('refuses plain http except to a loopback upstream outside production, and says an unreachable upstream is unreachable', async () => {
    expect(await failureOf(newClient().begin(providerAt('http://idp.example.test'), REDIRECT))).toBe('upstream_misconfigured');
    expect(await failureOf(newClient({ allowLoopbackHttp: false }).begin(providerAt(fake.origin), REDIRECT))).toBe('upstream_misconfigured');
    expect(await failureOf(newClient().begin(providerAt('http://127.0.0.1:9'), REDIRECT))).toBe('upstream_unreachable');
  });
});

describe('the GitHub client', () => {
  it('uses api.github.com for github.com, and <base>/api/v3 for GitHub Enterprise', () => {
    expect(githubApiBase('https://github.com')).toBe('https://api.github.com');
    expect(githubApiBase('https://github.com/')).toBe('https://api.github.com');
    expect(githubApiBase('https://git.acme.example')).toBe('https://git.acme.example/api/v3');
  });
});
