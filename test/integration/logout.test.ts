// RP-initiated logout and back-channel logout: the confirmation page rendered
// from views/, post_logout_redirect_uri checked against the client's list,
// the session and its grants ended, and a logout token posted to every client
// that registered a back-channel logout URI (through the queue: the rest of
// back-channel logout is test/integration/backchannel-logout.test.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { SignJWT } from 'jose';
import { createProviderFetch } from '../../src/backchannel/provider-logout-tokens.ts';
import type { SessionClient } from '../../src/backchannel/logout-notices.ts';
import { until } from '../helpers/admin.ts';
import {
  createRelyingParty,
  expectPage,
  expectRedirect,
  heading,
  oauthError,
  parseForms,
  signInAndAllow,
  UserAgent,
  type RelyingParty,
} from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
const BYE = 'https://app.example.test/bye';
const OTHER_CALLBACK = 'https://other.example.test/cb';

let server: TestServer;
let ada: { id: string; email: string };
let app: { id: string; secret: string };
let other: { id: string; secret: string };
let backchannel: { id: string; secret: string };
let receiver: http.Server;
const logoutTokens: string[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));

  server = await startTestServer();
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', password: PASSWORD });
  const a = await clients.create({ name: 'Photo Album', redirectUris: [CALLBACK], postLogoutRedirectUris: [BYE] });
  app = { id: a.client.clientId, secret: a.clientSecret! };
  const o = await clients.create({ name: 'Other app', redirectUris: [OTHER_CALLBACK] });
  other = { id: o.client.clientId, secret: o.clientSecret! };
  const b = await clients.create({
    name: 'Back-channel app',
    redirectUris: ['https://bc.example.test/cb'],
    backchannelLogoutUri: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/logout`,
  });
  backchannel = { id: b.client.clientId, secret: b.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const rpFor = (client: { id: string; secret: string }, redirectUri: string, browser?: UserAgent) =>
  createRelyingParty({ issuer: server.issuer, clientId: client.id, clientSecret: client.secret, redirectUri }).then((rp) =>
    browser ? Object.assign(rp, { browser }) : rp,
  );

async function signedIn(rp: RelyingParty, params: Record<string, string> = {}) {
  const { request, callback } = await signInAndAllow(rp, { email: ada.email, password: PASSWORD }, params);
  return rp.exchange(callback, request);
}

describe('RP-initiated logout', () => {
  it('confirms, ends the session and its grants, and returns to the registered post_logout_redirect_uri with state', async () => {
    const rp = await rpFor(app, CALLBACK);
    const tokens = await signedIn(rp, { scope: 'openid email' });

    const confirmation = expectPage(await rp.browser.open(rp.endSessionUrl({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE, state: 'xyz' })));
    expect(confirmation.status).toBe(200);
    expect(heading(confirmation)).toBe('Sign out?');
    expect(confirmation.html).toContain('<strong>Photo Album</strong> asked to sign you out.');
    expect(parseForms(confirmation.html)[0]!.buttons.map((b) => b.label)).toEqual(['Sign out', 'Sign out of Photo Album only']);
    expect(confirmation.html).not.toMatch(/<script/i);
    expect(confirmation.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'");
    expect(confirmation.headers.get('cache-control')).toContain('no-store');

    const back = expectRedirect(await rp.browser.submit(confirmation, {}, 'Sign out'));
    expect(back.origin + back.pathname).toBe(BYE);
    expect(back.searchParams.get('state')).toBe('xyz');
    expect(rp.browser.jar.names()).not.toContain('_session');

    expect(await oauthError(rp.userinfo(tokens.access_token, ada.id))).toBe('invalid_token');
    const silent = await rp.authorizationRequest({ prompt: 'none' });
    expect(expectRedirect(await rp.browser.open(silent.url)).searchParams.get('error')).toBe('login_required');
  });

  it('shows the signed-out page when the client gives no post_logout_redirect_uri', async () => {
    const rp = await rpFor(app, CALLBACK);
    await signedIn(rp);
    const confirmation = await rp.browser.open(rp.endSessionUrl({}));
    expect(parseForms(expectPage(confirmation).html)[0]!.buttons.map((b) => b.label)).toEqual(['Sign out', 'Sign out of Photo Album only']);
    const done = expectPage(await rp.browser.submit(confirmation, {}, 'Sign out'));
    expect(done.url.pathname).toBe('/session/end/success');
    expect(heading(done)).toBe('You are signed out');
    expect(done.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('signs out of one client only when asked, keeping the Latchkey session for the others', async () => {
    const rp = await rpFor(app, CALLBACK);
    const tokens = await signedIn(rp);
    // Already signed in: the other client only needs consent.
    const otherRp = await rpFor(other, OTHER_CALLBACK, rp.browser);
    const otherRequest = await otherRp.authorizationRequest();
    const consent = await rp.browser.open(otherRequest.url);
    const otherTokens = await otherRp.exchange(expectRedirect(await rp.browser.submit(consent, {}, 'Allow')), otherRequest);

    const confirmation = await rp.browser.open(rp.endSessionUrl({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE }));
    expect(expectRedirect(await rp.browser.submit(confirmation, {}, 'Sign out of Photo Album only')).origin).toBe('https://app.example.test');

    expect(await oauthError(rp.userinfo(tokens.access_token, ada.id))).toBe('invalid_token');
    expect(await otherRp.userinfo(otherTokens.access_token, ada.id)).toMatchObject({ sub: ada.id });
    const silent = await otherRp.authorizationRequest({ prompt: 'none' });
    expect(expectRedirect(await rp.browser.open(silent.url)).searchParams.get('code')).toBeTruthy();
  });

  it('keeps offline access (refresh tokens) across a logout, as offline_access means', async () => {
    const rp = await rpFor(app, CALLBACK);
    const tokens = await signedIn(rp, { scope: 'openid offline_access', prompt: 'consent' });
    const confirmation = await rp.browser.open(rp.endSessionUrl({ id_token_hint: tokens.id_token! }));
    await rp.browser.submit(confirmation, {}, 'Sign out');
    expect((await rp.refresh(tokens.refresh_token!)).access_token).toEqual(expect.any(String));
  });

  it('hands a browser without a session straight on, through a page whose one inline script the CSP allows by hash', async () => {
    const rp = await rpFor(app, CALLBACK);
    const handoff = expectPage(await rp.browser.open(rp.endSessionUrl({ client_id: app.id, post_logout_redirect_uri: BYE, state: 's1' })));
    expect(handoff.status).toBe(200);
    const script = /<script>([\s\S]*?)<\/script>/.exec(handoff.html)![1]!;
    const digest = createHash('sha256').update(script).digest('base64');
    const csp = handoff.headers.get('content-security-policy')!;
    expect(csp).toContain(`'sha256-${digest}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // Without JavaScript, the <noscript> button does the same.
    const back = expectRedirect(await rp.browser.submit(handoff, {}, 'Continue'));
    expect(back.origin + back.pathname).toBe(BYE);
    expect(back.searchParams.get('state')).toBe('s1');
  });

  it.each([
    ['an unregistered post_logout_redirect_uri', (t: string) => ({ id_token_hint: t, post_logout_redirect_uri: 'https://evil.example.test/bye' }), 'invalid_request'],
    ['a registered URI with something appended', (t: string) => ({ id_token_hint: t, post_logout_redirect_uri: `${BYE}/x` }), 'invalid_request'],
    ['another client\'s id_token_hint for client_id', (t: string) => ({ id_token_hint: t, client_id: 'lk_someone_else', post_logout_redirect_uri: BYE }), 'invalid_request'],
    ['an id_token_hint that is not a JWT', () => ({ id_token_hint: 'not-a-jwt', post_logout_redirect_uri: BYE }), 'invalid_request'],
    ['an id_token_hint with a broken signature', (t: string) => ({ id_token_hint: `${t.slice(0, -4)}AAAA`, post_logout_redirect_uri: BYE }), 'invalid_request'],
    ['an unknown client_id', () => ({ client_id: 'lk_nobody', post_logout_redirect_uri: BYE }), 'invalid_client'],
  ])('refuses %s with an error page and no redirect', async (_name, params, code) => {
    const rp = await rpFor(app, CALLBACK);
    const tokens = await signedIn(rp);
    const url = new URL('/session/end', server.issuer);
    for (const [key, value] of Object.entries(params(tokens.id_token!))) url.searchParams.set(key, value);
    const response = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html', cookie: rp.browser.jar.header(url) } });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain(code);
    expect(html).not.toContain('evil.example.test');
    // Still signed in.
    const silent = await rp.authorizationRequest({ prompt: 'none' });
    expect(expectRedirect(await rp.browser.open(silent.url)).searchParams.get('code')).toBeTruthy();
  });

  it('refuses a confirmation posted without the session\'s xsrf secret', async () => {
    const rp = await rpFor(app, CALLBACK);
    await signedIn(rp);
    const confirmation = expectPage(await rp.browser.open(rp.endSessionUrl({})));
    const refused = expectPage(await rp.browser.post('/session/end/confirm', new URLSearchParams({ logout: 'yes', xsrf: 'forged' })));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('invalid_request');
    expect(confirmation.status).toBe(200);
    expect(rp.browser.jar.names()).toContain('_session');
  });
});

describe('back-channel logout', () => {
  it('posts a signed logout token naming the subject and session to clients that registered a URI', async () => {
    const rp = await rpFor(backchannel, 'https://bc.example.test/cb');
    const tokens = await signedIn(rp);
    const sid = tokens.claims()!.sid;
    expect(sid).toEqual(expect.any(String));

    logoutTokens.length = 0;
    const confirmation = await rp.browser.open(rp.endSessionUrl({ id_token_hint: tokens.id_token! }));
    await rp.browser.submit(confirmation, {}, 'Sign out');

    // Queued at the logout, delivered by the server's sender right after.
    await until(() => logoutTokens.length === 1, { what: 'a logout token' });
    expect(logoutTokens).toHaveLength(1);
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    expect(decodeProtectedHeader(logoutTokens[0]!).typ).toBe('logout+jwt');
    const { payload } = await jwtVerify(logoutTokens[0]!, jwks, { issuer: server.issuer, audience: backchannel.id, typ: 'logout+jwt' });
    expect(payload).toMatchObject({ sub: ada.id, sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(payload).not.toHaveProperty('nonce');
  });

  it('is registered through the client service, with the URI checked', async () => {
    const { clients } = server.services;
    const created = await clients.create({ name: 'BCL', redirectUris: ['https://x.example.test/cb'], backchannelLogoutUri: 'https://x.example.test/logout' });
    expect(created.client.backchannelLogoutUri).toBe('https://x.example.test/logout');
    expect(await clients.findProviderMetadata(created.client.clientId)).toMatchObject({
      backchannel_logout_uri: 'https://x.example.test/logout',
      backchannel_logout_session_required: true,
    });

    const refused = [
      ['not a URL', { backchannelLogoutUri: 'logout' }],
      ['a fragment', { backchannelLogoutUri: 'https://x.example.test/logout#f' }],
      ['a custom scheme', { backchannelLogoutUri: 'com.example.app:/logout' }],
      ['no authorization_code grant', { grantTypes: ['client_credentials'], redirectUris: [], scope: 'openid', backchannelLogoutUri: 'https://x.example.test/logout' }],
    ] as const;
    for (const [name, input] of refused) {
      const error = await clients.create({ name: 'BCL', redirectUris: ['https://x.example.test/cb'], ...input }).catch((e: unknown) => e);
      expect((error as { code?: string }).code, name).toBe('invalid_input');
    }
  });
});

describe('outgoing requests', () => {
  const logoutToken = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));

  it.each([
    ['any other POST', { method: 'POST', body: new URLSearchParams({ token: 'x' }) }],
    ['a GET (a jwks_uri)', { method: 'GET', body: undefined }],
  ])('go out as oidc-provider asked, its SSRF filter kept: %s', async (_name, init) => {
    const seen: Record<string, unknown>[] = [];
    const queued: SessionClient[] = [];
    const providerFetch = createProviderFetch({ queue: async (ended) => (queued.push(...ended), ended.length) }, async (_input, options) => {
      seen.push(options as Record<string, unknown>);
      return new Response(null, { status: 204 });
    });
    const ssrfFilter = { filter: true };
    await providerFetch('https://rp.example.test/x', { ...init, dispatcher: ssrfFilter } as unknown as RequestInit);
    expect(seen[0]!.dispatcher).toBe(ssrfFilter);
    expect(seen[0]!.body).toBe(init.body);
    expect(queued).toEqual([]);
  });

  it('queue a logout token oidc-provider posts instead of sending it, and answer it 200', async () => {
    const seen: unknown[] = [];
    const queued: SessionClient[] = [];
    const providerFetch = createProviderFetch({ queue: async (ended) => (queued.push(...ended), ended.length) }, async (...args) => {
      seen.push(args);
      return new Response(null, { status: 500 });
    });
    const body = new URLSearchParams({ logout_token: await logoutToken({ aud: 'lk_app', sub: 'acc-1', sid: 'sid-1' }) });
    const answer = await providerFetch('https://rp.example.test/logout', { method: 'POST', body });
    expect(answer.status).toBe(200);
    expect(seen).toEqual([]);
    expect(queued).toEqual([{ clientId: 'lk_app', accountId: 'acc-1', sid: 'sid-1' }]);
  });
});
