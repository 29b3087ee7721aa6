// What happens to the tokens of a signed-in person: refresh tokens rotate on
// every use for every client, a reused refresh token or authorization code
// revokes the whole grant, and a disabled account's grants stop at the next
// refresh. openid-client v6 is the relying party.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRelyingParty,
  expectPage,
  expectRedirect,
  heading,
  oauthError,
  signInAndAllow,
  type RelyingParty,
} from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const WEB_CALLBACK = 'https://app.example.test/cb';
const SPA_CALLBACK = 'https://spa.example.test/cb';
// offline_access is honoured only with prompt=consent (OpenID Connect Core §11).
const OFFLINE = { scope: 'openid email offline_access', prompt: 'consent' };

let server: TestServer;
let rps: Record<'confidential' | 'public', () => Promise<RelyingParty>>;
let ada: { id: string; email: string };

beforeAll(async () => {
  server = await startTestServer();
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', password: PASSWORD });
  const web = await clients.create({ name: 'Web app', redirectUris: [WEB_CALLBACK] });
  const spa = await clients.create({ name: 'Single-page app', public: true, redirectUris: [SPA_CALLBACK] });
  rps = {
    confidential: () => createRelyingParty({ issuer: server.issuer, clientId: web.client.clientId, clientSecret: web.clientSecret!, redirectUri: WEB_CALLBACK }),
    public: () => createRelyingParty({ issuer: server.issuer, clientId: spa.client.clientId, redirectUri: SPA_CALLBACK }),
  };
});

afterAll(async () => {
  await server?.stop();
});

async function offlineTokens(rp: RelyingParty, email = ada.email) {
  const { request, callback } = await signInAndAllow(rp, { email, password: PASSWORD }, OFFLINE);
  const tokens = await rp.exchange(callback, request);
  expect(tokens.refresh_token).toEqual(expect.any(String));
  return { tokens, callback, request };
}

describe.each(['confidential', 'public'] as const)('refresh tokens of a %s client', (kind) => {
  it('rotate on every use; each new access token works at userinfo', async () => {
    const rp = await rps[kind]();
    const { tokens } = await offlineTokens(rp);
    const seen = new Set([tokens.refresh_token]);
    let refreshToken = tokens.refresh_token!;
    for (let i = 0; i < 3; i++) {
      const current = await rp.refresh(refreshToken);
      expect(seen.has(current.refresh_token), 'a new refresh token every time').toBe(false);
      seen.add(current.refresh_token);
      refreshToken = current.refresh_token!;
      expect(current.claims()!.sub).toBe(ada.id);
      expect(await rp.userinfo(current.access_token, ada.id)).toMatchObject({ sub: ada.id, email: 'ada@example.test' });
    }
  });

  it('revoke the whole grant when a rotated one is used again: the newest refresh token and its access token stop working', async () => {
    const rp = await rps[kind]();
    const { tokens: first } = await offlineTokens(rp);
    const second = await rp.refresh(first.refresh_token!);
    const newest = await rp.refresh(second.refresh_token!);
    expect(await rp.userinfo(newest.access_token, ada.id)).toMatchObject({ sub: ada.id });

    // The rotated (already used) refresh token comes back: a sign it leaked.
    expect(await oauthError(rp.refresh(first.refresh_token!))).toBe('invalid_grant');

    expect(await oauthError(rp.refresh(newest.refresh_token!))).toBe('invalid_grant');
    expect(await oauthError(rp.userinfo(newest.access_token, ada.id))).toBe('invalid_token');
    expect(await oauthError(rp.userinfo(second.access_token, ada.id))).toBe('invalid_token');
  });
});

describe('authorization codes', () => {
  it('work once; a reused code revokes the tokens issued from it', async () => {
    const rp = await rps.confidential();
    const { tokens, callback, request } = await offlineTokens(rp);
    expect(await rp.userinfo(tokens.access_token, ada.id)).toMatchObject({ sub: ada.id });

    expect(await oauthError(rp.exchange(callback, request))).toBe('invalid_grant');

    expect(await oauthError(rp.userinfo(tokens.access_token, ada.id))).toBe('invalid_token');
    expect(await oauthError(rp.refresh(tokens.refresh_token!))).toBe('invalid_grant');
  });

  it('are bound to the client they were issued to', async () => {
    const { request, callback } = await signInAndAllow(await rps.confidential(), { email: ada.email, password: PASSWORD });
    const other = await rps.public();
    expect(await oauthError(other.exchange(new URL(callback.href.replace(WEB_CALLBACK, SPA_CALLBACK)), request))).toBe('invalid_grant');
  });
});

describe('a disabled account', () => {
  it('loses its grants at the next refresh, cannot use its session, and cannot sign in again', async () => {
    const bob = await server.services.accounts.create({ email: 'bob@example.test', password: PASSWORD });
    const rp = await rps.confidential();
    const { tokens } = await offlineTokens(rp, bob.email);
    const refreshed = await rp.refresh(tokens.refresh_token!);

    await server.services.accounts.disable(bob.id);

    expect(await oauthError(rp.refresh(refreshed.refresh_token!))).toBe('invalid_grant');
    expect(await oauthError(rp.userinfo(refreshed.access_token, bob.id))).toBe('invalid_token');

    // The browser still holds the session cookie: it no longer signs anyone in.
    const silent = await rp.authorizationRequest({ prompt: 'none' });
    expect(expectRedirect(await rp.browser.open(silent.url)).searchParams.get('error')).toBe('login_required');
    const again = await rp.authorizationRequest();
    const login = await rp.browser.open(again.url);
    expect(heading(login)).toBe('Sign in');
    const refused = expectPage(await rp.browser.submit(login, { email: bob.email, password: PASSWORD }));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Invalid email or password');

    // Enabled again, the person signs in as before.
    await server.services.accounts.enable(bob.id);
    const consentOrCallback = await rp.browser.submit(refused, { email: bob.email, password: PASSWORD });
    expect(consentOrCallback.kind === 'redirect' || heading(consentOrCallback)?.endsWith('wants to access your account')).toBe(true);
  });
});
