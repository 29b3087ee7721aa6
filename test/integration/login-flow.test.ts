// "Login with Latchkey" end to end over HTTP: openid-client v6 as the relying
// party, a cookie-keeping user agent filling in the login and consent forms.
// Authorization code + PKCE, ID token, userinfo, consent memory, prompts,
// every way a sign-in is refused, and what a bad request gets instead of a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createPasswordHasher } from '../../src/accounts/password-hasher.ts';
import {
  createRelyingParty,
  expectPage,
  expectRedirect,
  heading,
  oauthError,
  parseForms,
  signInAndAllow as signIn,
  UserAgent,
  type RelyingParty,
} from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const WEB_CALLBACK = 'https://app.example.test/cb';
const SPA_CALLBACK = 'https://spa.example.test/cb';
const ORDERS = 'https://orders.example.test/api';

let server: TestServer;
let web: { id: string; secret: string };
let spa: { id: string };
let ada: { id: string; email: string };

beforeAll(async () => {
  server = await startTestServer();
  const { accounts, clients, resources } = server.services;
  ada = await accounts.create({ email: 'Ada@Example.test', name: 'Ada Lovelace', password: PASSWORD });
  await resources.create({ identifier: ORDERS, scopes: ['orders:read', 'orders:write'] });
  // A name with markup in it: every page must show it as text.
  const created = await clients.create({
    name: 'Photo <Album> & "Friends"',
    redirectUris: [WEB_CALLBACK],
    postLogoutRedirectUris: ['https://app.example.test/bye'],
    resources: [ORDERS],
  });
  web = { id: created.client.clientId, secret: created.clientSecret! };
  const pub = await clients.create({ name: 'Notes', public: true, redirectUris: [SPA_CALLBACK] });
  spa = { id: pub.client.clientId };
});

afterAll(async () => {
  await server?.stop();
});

const webRp = () => createRelyingParty({ issuer: server.issuer, clientId: web.id, clientSecret: web.secret, redirectUri: WEB_CALLBACK });
const spaRp = () => createRelyingParty({ issuer: server.issuer, clientId: spa.id, redirectUri: SPA_CALLBACK });

const page = expectPage;
const redirect = expectRedirect;
const signInAndAllow = (rp: RelyingParty, params: Record<string, string> = {}, email = ada.email) => signIn(rp, { email, password: PASSWORD }, params);

describe('authorization code flow with PKCE', () => {
  it('signs a person in: login page, consent page, code, tokens, verified RS256 ID token, userinfo', async () => {
    const rp = await webRp();
    const request = await rp.authorizationRequest({ scope: 'openid profile email' });

    const login = page(await rp.browser.open(request.url));
    expect(login.status).toBe(200);
    expect(login.url.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    const [form] = parseForms(login.html);
    expect(Object.keys(form!.fields).sort()).toEqual(['email', 'password', 'token']);
    expect(login.html).toMatch(/<label for="email">Email<\/label>/);
    expect(login.html).toMatch(/<label for="password">Password<\/label>/);
    expect(login.html).toContain('Photo &lt;Album&gt; &amp; &quot;Friends&quot;');
    expect(login.html).not.toContain('<Album>');
    // One script, a same-origin file (the passkey button), never inline.
    expect(login.html.match(/<script[^>]*>/gi)).toEqual(['<script src="/static/passkey.js" defer>']);
    // Same-origin script files and fetches only, one stylesheet, never framed; no form-action (see src/http/security-headers.ts).
    expect(login.headers.get('content-security-policy')).toBe("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'");
    expect(login.headers.get('x-frame-options')).toBe('DENY');
    expect(login.headers.get('cache-control')).toBe('no-store');

    const consent = page(await rp.browser.submit(login, { email: 'ada@example.test', password: PASSWORD }));
    expect(consent.url.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    expect(consent.url.pathname).not.toBe(login.url.pathname);
    expect(heading(consent)).toBe('Photo &lt;Album&gt; &amp; &quot;Friends&quot; wants to access your account');
    expect(consent.html).toContain('Your name');
    expect(consent.html).toContain('Your email address, and whether it is verified');
    expect(consent.html).toContain('Signed in as <strong>ada@example.test</strong>');
    expect(parseForms(consent.html)[0]!.buttons.map((b) => b.label)).toEqual(['Allow', 'Deny']);
    // The consent page runs no script at all.
    expect(consent.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'");

    const callback = redirect(await rp.browser.submit(consent, {}, 'Allow'));
    expect(callback.origin + callback.pathname).toBe(WEB_CALLBACK);
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    expect(callback.searchParams.get('code')).toBeTruthy();

    const tokens = await rp.exchange(callback, request);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeUndefined();
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: server.issuer, aud: web.id, sub: ada.id, nonce: request.nonce });
    expect(claims.sub).not.toContain('@');

    // Signed with a persisted key that the JWKS publishes, RS256 by default.
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    await jwtVerify(tokens.id_token!, jwks, { issuer: server.issuer, audience: web.id, algorithms: ['RS256'] });

    const userinfo = await rp.userinfo(tokens.access_token, ada.id);
    expect(userinfo).toMatchObject({ sub: ada.id, name: 'Ada Lovelace', email: 'ada@example.test', email_verified: false });
    expect(typeof userinfo.updated_at).toBe('number');
  });

  it('releases only the claims of the scopes granted', async () => {
    const rp = await webRp();
    const { request, callback } = await signInAndAllow(rp, { scope: 'openid email' });
    const tokens = await rp.exchange(callback, request);
    const userinfo = await rp.userinfo(tokens.access_token, ada.id);
    expect(userinfo).toEqual({ sub: ada.id, email: 'ada@example.test', email_verified: false });
  });

  it('serves a public client with PKCE and token_endpoint_auth_method none', async () => {
    const rp = await spaRp();
    const { request, callback } = await signInAndAllow(rp, { scope: 'openid profile' });
    const tokens = await rp.exchange(callback, request);
    expect(tokens.claims()!.sub).toBe(ada.id);
    expect(await rp.userinfo(tokens.access_token, ada.id)).toMatchObject({ name: 'Ada Lovelace' });
  });

  it('words API scopes and offline access on the consent page, and grants them', async () => {
    const rp = await webRp();
    const request = await rp.authorizationRequest({ scope: 'openid offline_access orders:read', resource: ORDERS, prompt: 'consent' });
    const consent = page(await rp.browser.submit(await rp.browser.open(request.url), { email: ada.email, password: PASSWORD }));
    expect(consent.html).toMatch(/Access to <strong>orders\.example\.test\/api<\/strong> on your behalf: <code>orders:read<\/code>/);
    expect(consent.html).toContain('Access while you are not using it');
    expect(consent.html).not.toContain('orders:write');
    const callback = redirect(await rp.browser.submit(consent, {}, 'Allow'));
    const tokens = await rp.exchange(callback, request, {});
    expect(tokens.refresh_token).toEqual(expect.any(String));
    // The access token is for the API: a JWT with the API as its audience.
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: ORDERS });
    expect(payload).toMatchObject({ sub: ada.id, scope: 'orders:read', client_id: web.id });
  });

  it('sends Deny back to the client as access_denied', async () => {
    const rp = await webRp();
    const request = await rp.authorizationRequest({ scope: 'openid profile' });
    const consent = await rp.browser.submit(await rp.browser.open(request.url), { email: ada.email, password: PASSWORD });
    const callback = redirect(await rp.browser.submit(consent, {}, 'Deny'));
    expect(callback.origin + callback.pathname).toBe(WEB_CALLBACK);
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(await oauthError(rp.exchange(callback, request))).toBe('access_denied');
  });

  it('sends Cancel on the login page back to the client as access_denied', async () => {
    const rp = await webRp();
    const request = await rp.authorizationRequest();
    const callback = redirect(await rp.browser.submit(await rp.browser.open(request.url), {}, 'Cancel'));
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(request.state);
  });
});

describe('consent memory and prompts', () => {
  it('skips the consent page for scopes already granted, and asks again only for new ones', async () => {
    const rp = await webRp();
    await signInAndAllow(rp, { scope: 'openid email' });

    const again = await rp.authorizationRequest({ scope: 'openid email' });
    const callback = redirect(await rp.browser.open(again.url));
    expect((await rp.exchange(callback, again)).claims()!.sub).toBe(ada.id);

    const more = await rp.authorizationRequest({ scope: 'openid email profile' });
    const consent = page(await rp.browser.open(more.url));
    expect(heading(consent)).toMatch(/wants to access your account$/);
    expect(consent.html).toContain('Your name');
    expect(consent.html).not.toContain('Your email address');
    const tokens = await rp.exchange(redirect(await rp.browser.submit(consent, {}, 'Allow')), more);
    expect(await rp.userinfo(tokens.access_token, ada.id)).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.test' });
  });

  it('shows the login page again for prompt=login, and consent again for prompt=consent', async () => {
    const rp = await webRp();
    await signInAndAllow(rp, { scope: 'openid profile' });

    const relogin = await rp.authorizationRequest({ scope: 'openid profile', prompt: 'login' });
    const login = page(await rp.browser.open(relogin.url));
    expect(heading(login)).toBe('Sign in');
    const callback = redirect(await rp.browser.submit(login, { email: ada.email, password: PASSWORD }));
    expect((await rp.exchange(callback, relogin)).claims()!.sub).toBe(ada.id);

    const reconsent = await rp.authorizationRequest({ scope: 'openid profile', prompt: 'consent' });
    const consent = page(await rp.browser.open(reconsent.url));
    expect(consent.html).toContain('Your name');
    redirect(await rp.browser.submit(consent, {}, 'Allow'));
  });

  it('answers prompt=none with login_required without a session, and with a code once signed in', async () => {
    const rp = await webRp();
    const silent = await rp.authorizationRequest({ prompt: 'none' });
    const refused = redirect(await rp.browser.open(silent.url));
    expect(refused.searchParams.get('error')).toBe('login_required');
    expect(refused.searchParams.get('state')).toBe(silent.state);

    await signInAndAllow(rp);
    const again = await rp.authorizationRequest({ prompt: 'none' });
    expect((await rp.exchange(redirect(await rp.browser.open(again.url)), again)).claims()!.sub).toBe(ada.id);
  });

  it('asks for the password again when the session is older than max_age', async () => {
    const rp = await webRp();
    await signInAndAllow(rp);
    // Make the session's sign-in an hour old instead of waiting.
    const sessions = await server.database.db.prisma.oidcArtifact.findMany({ where: { model: 'Session' } });
    for (const row of sessions) {
      const payload = JSON.parse(row.payload) as { loginTs?: number };
      if (payload.loginTs) {
        payload.loginTs -= 3600;
        await server.database.db.prisma.oidcArtifact.update({ where: { model_id: { model: row.model, id: row.id } }, data: { payload: JSON.stringify(payload) } });
      }
    }

    const fresh = await rp.authorizationRequest({ max_age: '60' });
    const login = page(await rp.browser.open(fresh.url));
    expect(heading(login)).toBe('Sign in');
    const callback = redirect(await rp.browser.submit(login, { email: ada.email, password: PASSWORD }));
    const tokens = await rp.exchange(callback, fresh, { maxAge: 60 });
    expect(tokens.claims()!.auth_time).toBeGreaterThan(Math.floor(Date.now() / 1000) - 60);

    const loose = await rp.authorizationRequest({ max_age: '86400' });
    expect(redirect(await rp.browser.open(loose.url)).searchParams.get('code')).toBeTruthy();
  });

  it('fills the email from login_hint and puts the focus on the password', async () => {
    const rp = await webRp();
    const request = await rp.authorizationRequest({ login_hint: 'ada@example.test' });
    const login = page(await rp.browser.open(request.url));
    expect(parseForms(login.html)[0]!.fields.email).toBe('ada@example.test');
    expect(login.html).toMatch(/id="password"[^>]*autofocus/);
  });
});

describe('sign-in refusals', () => {
  const cases = [
    ['a wrong password', 'ada@example.test', 'not the password'],
    ['an unknown email', 'nobody@example.test', PASSWORD],
    ['a disabled account', 'disabled@example.test', PASSWORD],
    ['an empty password', 'ada@example.test', ''],
    ['an email that is not one', 'not an email <b>', PASSWORD],
  ] as const;

  beforeAll(async () => {
    const disabled = await server.services.accounts.create({ email: 'disabled@example.test', password: PASSWORD });
    await server.services.accounts.disable(disabled.id);
  });

  it.each(cases)('refuses %s with the same message, keeping the email', async (_name, email, password) => {
    const rp = await webRp();
    const request = await rp.authorizationRequest();
    const login = await rp.browser.open(request.url);
    const refused = page(await rp.browser.submit(login, { email, password }));
    expect(refused.status).toBe(400);
    expect(refused.url.pathname).toBe(`${page(login).url.pathname}/login`);
    expect(/<p class="error" role="alert" id="login-error">([^<]*)<\/p>/.exec(refused.html)?.[1]).toBe('Invalid email or password');
    expect(parseForms(refused.html)[0]!.fields.email).toBe(email);
    if (password) expect(refused.html).not.toContain(password);
    expect(rp.browser.jar.names()).not.toContain('_session');
    // The same page still works with the right password.
    const consent = await rp.browser.submit(refused, { email: 'ada@example.test', password: PASSWORD });
    expect(heading(consent)).toMatch(/wants to access your account$/);
  });

  it('upgrades a hash made with weaker parameters when the person signs in', async () => {
    const weak = await createPasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }).hash(PASSWORD);
    const account = await server.services.accounts.create({ email: 'old@example.test', password: PASSWORD });
    const prisma = server.database.db.prisma;
    await prisma.account.update({ where: { id: account.id }, data: { passwordHash: weak } });

    const rp = await webRp();
    await signInAndAllow(rp, {}, 'old@example.test');
    const { passwordHash } = await prisma.account.findUniqueOrThrow({ where: { id: account.id } });
    expect(passwordHash).not.toBe(weak);
    expect(passwordHash).toMatch(/^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
    expect(createPasswordHasher().needsRehash(passwordHash!)).toBe(false);
  });
});

describe('bad requests get a readable page or a spec-shaped error, never a 500', () => {
  it('shows an error page for a redirect_uri the client did not register, and does not redirect to it', async () => {
    const rp = await webRp();
    for (const redirectUri of ['https://evil.example.test/cb', `${WEB_CALLBACK}/extra`, `${WEB_CALLBACK}?x=1`, 'not a uri']) {
      const request = await rp.authorizationRequest({ redirect_uri: redirectUri });
      const response = await fetch(request.url, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      const html = await response.text();
      expect(html).toContain('<h1>This request cannot be completed</h1>');
      expect(html).toContain('invalid_redirect_uri');
      expect(html).not.toMatch(/evil\.example\.test/);
    }
  });

  it.each([
    ['an unknown client_id', { client_id: 'lk_nobody' }, 'invalid_client'],
    ['a missing client_id', { client_id: '' }, 'invalid_request'],
  ])('shows an error page for %s', async (_name, params, code) => {
    const rp = await webRp();
    const request = await rp.authorizationRequest(params);
    if (params.client_id === '') request.url.searchParams.delete('client_id');
    const response = await fetch(request.url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain(code);
  });

  it.each([
    ['no code_challenge', (p: URLSearchParams) => p.delete('code_challenge'), 'invalid_request'],
    ['code_challenge_method plain', (p: URLSearchParams) => p.set('code_challenge_method', 'plain'), 'invalid_request'],
    ['code_challenge_method S512', (p: URLSearchParams) => p.set('code_challenge_method', 'S512'), 'invalid_request'],
    ['a code_challenge too short to be S256', (p: URLSearchParams) => p.set('code_challenge', 'abc'), 'invalid_request'],
    ['response_type code id_token', (p: URLSearchParams) => p.set('response_type', 'code id_token'), 'unsupported_response_type'],
    ['an unregistered resource', (p: URLSearchParams) => p.set('resource', 'https://nope.example.test/'), 'invalid_target'],
    ['prompt=none together with login', (p: URLSearchParams) => p.set('prompt', 'none login'), 'invalid_request'],
  ])('sends %s back to the client as an error', async (_name, change, code) => {
    const rp = await webRp();
    const request = await rp.authorizationRequest();
    change(request.url.searchParams);
    const callback = redirect(await rp.browser.open(request.url));
    expect(callback.origin + callback.pathname).toBe(WEB_CALLBACK);
    // Errors for response types with ID tokens travel in the fragment.
    const params = callback.hash ? new URLSearchParams(callback.hash.slice(1)) : callback.searchParams;
    expect(params.get('error'), params.get('error_description') ?? '').toBe(code);
    expect(params.get('state')).toBe(request.state);
  });

  it('refuses a code exchanged without the right PKCE verifier', async () => {
    const rp = await webRp();
    const { request, callback } = await signInAndAllow(rp);
    expect(await oauthError(rp.exchange(callback, { ...request, codeVerifier: 'x'.repeat(43) }))).toBe('invalid_grant');
  });

  it.each([
    ['a form without its token', (form: URLSearchParams) => form.delete('token'), 403, 'invalid_form_token'],
    ['a form with a forged token', (form: URLSearchParams) => form.set('token', 'A'.repeat(43)), 403, 'invalid_form_token'],
    ['a token longer than any signature', (form: URLSearchParams) => form.set('token', 'A'.repeat(5000)), 403, 'invalid_form_token'],
  ])('refuses %s', async (_name, change, status, code) => {
    const rp = await webRp();
    const login = page(await rp.browser.open((await rp.authorizationRequest()).url));
    const form = new URLSearchParams({ ...parseForms(login.html)[0]!.fields, email: ada.email, password: PASSWORD });
    change(form);
    const refused = page(await rp.browser.post(`${login.url.pathname}/login`, form));
    expect(refused.status).toBe(status);
    expect(refused.html).toContain(code);
    expect(rp.browser.jar.names()).not.toContain('_session');
  });

  it('refuses a token taken from another interaction', async () => {
    const rp = await webRp();
    const first = page(await rp.browser.open((await rp.authorizationRequest()).url));
    const second = page(await rp.browser.open((await rp.authorizationRequest()).url));
    const form = new URLSearchParams({ ...parseForms(first.html)[0]!.fields, email: ada.email, password: PASSWORD });
    const refused = page(await rp.browser.post(`${second.url.pathname}/login`, form));
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('invalid_form_token');
  });

  it('refuses a login form posted from another browser (the interaction cookie is missing)', async () => {
    const rp = await webRp();
    const login = page(await rp.browser.open((await rp.authorizationRequest()).url));
    const fields = { ...parseForms(login.html)[0]!.fields, email: ada.email, password: PASSWORD };
    const stranger = new UserAgent(rp.browser.origin);
    const foreign = page(await stranger.post(`${login.url.pathname}/login`, new URLSearchParams(fields)));
    expect(foreign.status).toBe(400);
    expect(foreign.html).toContain('interaction_expired');
    expect(stranger.jar.names()).not.toContain('_session');
  });

  it('refuses a login form replayed after the interaction finished', async () => {
    const rp = await webRp();
    const request = await rp.authorizationRequest();
    const login = page(await rp.browser.open(request.url));
    await rp.browser.submit(login, { email: ada.email, password: PASSWORD });
    const replay = page(await rp.browser.submit(login, { email: ada.email, password: PASSWORD }));
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('interaction_expired');
  });

  it.each([
    ['GET an unknown interaction', 'GET', '/interaction/nope', undefined, undefined, 400],
    ['GET an unknown step', 'GET', '/interaction/nope/elsewhere', undefined, undefined, 404],
    ['POST JSON', 'POST', '/interaction/nope/login', 'application/json', '{"email":"a"}', 415],
    ['POST without a body type', 'POST', '/interaction/nope/login', undefined, 'email=a', 415],
    ['POST a huge form', 'POST', '/interaction/nope/login', 'application/x-www-form-urlencoded', `password=${'x'.repeat(64 * 1024)}`, 413],
    ['POST a malformed form', 'POST', '/interaction/nope/login', 'application/x-www-form-urlencoded', '%%%&=&email', 400],
    ['POST abort without a session', 'POST', '/interaction/nope/abort', 'application/x-www-form-urlencoded', 'token=x', 400],
    ['GET abort', 'GET', '/interaction/nope/abort', undefined, undefined, 404],
  ])('answers %s with a readable page', async (_name, method, path, type, body, status) => {
    const response = await fetch(`${server.issuer}${path}`, {
      method,
      redirect: 'manual',
      headers: { accept: 'text/html', ...(type ? { 'content-type': type } : {}) },
      body,
    });
    expect(response.status).toBe(status);
    const html = await response.text();
    expect(html).toMatch(/<h1>/);
    expect(html).not.toMatch(/\bat [\w.<>]+ \(|node_modules|Error:/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('refuses a consent submission while the interaction is still at the login step', async () => {
    const rp = await webRp();
    const login = page(await rp.browser.open((await rp.authorizationRequest()).url));
    const refused = page(await rp.browser.post(`${login.url.pathname}/consent`, new URLSearchParams(parseForms(login.html)[0]!.fields)));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('interaction_step_mismatch');
  });
});
