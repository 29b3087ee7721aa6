// Security headers and cookies, over HTTP against real servers: with an http
// issuer, and with an https issuer behind a trusted TLS-terminating proxy (a
// tiny one in the test that adds X-Forwarded-Proto/-For). Every page carries
// the strict CSP with frame-ancestors 'none', nosniff and no-referrer; HSTS
// only for the https issuer; every cookie of a sign-in is HttpOnly and
// SameSite=Lax, and Secure when the issuer is https. X-Forwarded-* count only
// when LATCHKEY_TRUST_PROXY says so. And production refuses an http issuer.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, parseForms } from '../helpers/rp.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";
/** The login and account pages load views/static/passkey.js, which fetches from this origin only. */
const SCRIPT_PAGE_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

let database: TestDatabase;
const servers: TestServer[] = [];
const proxies: http.Server[] = [];

/** A TLS-terminating proxy as far as Latchkey can tell: it adds X-Forwarded-Proto and appends the client address. */
async function startHttpsProxy(target: TestServer) {
  const port = await freePort();
  const proxy = http.createServer((req, res) => {
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = http.request(
      { host: '127.0.0.1', port: target.config.port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-for': forwardedFor } },
      (response) => {
        res.writeHead(response.statusCode!, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  proxies.push(proxy);
  return `http://127.0.0.1:${port}`;
}

// Instances on one database share its keys, so they share the master secret.
const SECRET = randomBytes(32).toString('base64url');

async function start(env: Record<string, string>) {
  const server = await startTestServer({ database, env: { LATCHKEY_SECRET: SECRET, ...env } });
  servers.push(server);
  return server;
}

interface Deployment {
  /** Where requests are sent: the instance itself, or the proxy in front of it. */
  readonly origin: string;
  readonly server: TestServer;
  readonly clientId: string;
}

let plain: Deployment;
let behindProxy: Deployment;

beforeAll(async () => {
  database = await createTestDatabase();
  const first = await start({});
  await first.services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
  const { client } = await first.services.clients.create({ name: 'Header app', redirectUris: [CALLBACK] });
  plain = { origin: first.issuer, server: first, clientId: client.clientId };
  const https = await start({ ISSUER: 'https://id.example.test', LATCHKEY_TRUST_PROXY: 'true' });
  behindProxy = { origin: await startHttpsProxy(https), server: https, clientId: client.clientId };
});

afterAll(async () => {
  for (const proxy of proxies) await new Promise((resolve) => proxy.close(resolve));
  for (const server of servers) await server.stop();
  await database?.drop();
});

/**
 * A browser without JavaScript, by hand: keeps cookies, records every
 * Set-Cookie and every response, and follows redirects back to `origin`
 * (an https issuer's own absolute URLs are mapped onto the proxy).
 */
function visitor(origin: string) {
  const jar = new CookieJar();
  const setCookies: string[] = [];
  const responses: { path: string; status: number; headers: Headers; body: string }[] = [];
  async function go(url: string | URL, init: RequestInit = {}): Promise<{ path: string; status: number; headers: Headers; body: string }> {
    let target = new URL(url, origin);
    let request = init;
    for (let hop = 0; hop < 10; hop++) {
      const mapped = new URL(`${target.pathname}${target.search}`, origin);
      const headers = new Headers(request.headers);
      const cookie = jar.header(mapped);
      if (cookie) headers.set('cookie', cookie);
      headers.set('accept', 'text/html');
      const response = await fetch(mapped, { ...request, headers, redirect: 'manual' });
      jar.store(response);
      setCookies.push(...response.headers.getSetCookie());
      const result = { path: mapped.pathname, status: response.status, headers: response.headers, body: await response.text() };
      responses.push(result);
      const location = response.headers.get('location');
      if (!location || response.status < 300 || response.status >= 400) return result;
      target = new URL(location, mapped);
      if (target.href.startsWith(CALLBACK)) return result;
      request = {};
    }
    throw new Error('too many redirects');
  }
  return { go, setCookies, responses };
}

function authorizeUrl(clientId: string) {
  const url = new URL('/auth', 'http://placeholder');
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: CALLBACK,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 'state-1',
  }).toString();
  return `${url.pathname}${url.search}`;
}

/** Authorization request → login page → sign in → consent page → Allow → callback. */
async function signInThrough({ origin, clientId }: Deployment) {
  const browser = visitor(origin);
  const login = await browser.go(authorizeUrl(clientId));
  expect(login.body).toContain('<h1>Sign in</h1>');
  const [loginForm] = parseForms(login.body);
  const consent = await browser.go(loginForm!.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...loginForm!.fields, email: 'ada@example.test', password: PASSWORD }),
  });
  expect(consent.body).toMatch(/wants to access your account/);
  const [consentForm] = parseForms(consent.body);
  const done = await browser.go(consentForm!.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(consentForm!.fields),
  });
  expect(done.headers.get('location')).toMatch(/^https:\/\/app\.example\.test\/cb\?code=/);
  return { browser, login, consent };
}

const cookieAttributes = (header: string) => {
  const [pair, ...attributes] = header.split(';').map((part) => part.trim());
  return { name: pair!.slice(0, pair!.indexOf('=')), attributes: attributes.map((attribute) => attribute.toLowerCase()) };
};

describe.each([
  ['an http issuer', () => plain, { hsts: false, secure: false }],
  ['an https issuer behind a trusted proxy', () => behindProxy, { hsts: true, secure: true }],
])('with %s', (_name, deployment, expected) => {
  it('gives the login and consent pages the strict CSP (same-origin script files only on the login page), frame-ancestors none, nosniff, no-referrer, no-store, and HSTS only for https', async () => {
    const { login, consent } = await signInThrough(deployment());
    for (const [page, csp] of [[login, SCRIPT_PAGE_CSP], [consent, PAGE_CSP]] as const) {
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(csp);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('strict-transport-security')).toBe(expected.hsts ? 'max-age=31536000; includeSubDomains' : null);
    }
  });

  it('makes every cookie of a sign-in HttpOnly and SameSite=Lax, and Secure exactly when the issuer is https', async () => {
    const { browser } = await signInThrough(deployment());
    const cookies = browser.setCookies.map(cookieAttributes);
    // oidc-provider's interaction and session cookies (each with its .sig), and ours.
    expect(new Set(cookies.map((cookie) => cookie.name))).toEqual(
      new Set(['_interaction', '_interaction.sig', '_interaction_resume', '_interaction_resume.sig', '_session', '_session.sig', 'latchkey.device', 'latchkey.device.sig']),
    );
    for (const { name, attributes } of cookies) {
      expect(attributes, name).toContain('httponly');
      expect(attributes, name).toContain('samesite=lax');
      expect(attributes.includes('secure'), name).toBe(expected.secure);
    }
  });

  it.each([
    ['an interaction page that does not exist (ours)', '/interaction/nope', 'text/html', PAGE_CSP],
    ['an authorization error (oidc-provider renders it)', '/auth?client_id=unknown', 'text/html', `${PAGE_CSP.replace("default-src 'none'; ", "default-src 'none'; script-src 'self'; ")}`],
    ['discovery (JSON)', '/.well-known/openid-configuration', 'application/json', null],
    ['the JWKS (JSON)', '/jwks', 'application/jwk-set+json', null],
  ])('answers %s with nosniff and no-referrer, and a CSP on HTML only', async (_what, path, type, csp) => {
    const response = await fetch(new URL(path, deployment().origin), { headers: { accept: type.startsWith('text') ? type : 'application/json' } });
    expect(response.headers.get('content-type')).toContain(type);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('content-security-policy')).toBe(csp);
    expect(response.headers.get('strict-transport-security')).toBe(expected.hsts ? 'max-age=31536000; includeSubDomains' : null);
  });

  it.each([
    // Not one of the provider's pages: an error page from it gets ours, which allows no script.
    ['text/html', PAGE_CSP],
    ['application/json', null],
  ])('answers a refused token request asked for as %s with nosniff, and a CSP on HTML only', async (type, csp) => {
    const response = await fetch(new URL('/token', deployment().origin), {
      method: 'POST',
      headers: { accept: type, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=unknown',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain(type);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe(csp);
  });
});

describe('X-Forwarded-* count only from a trusted proxy', () => {
  async function loginPage(origin: string, clientId: string) {
    const browser = visitor(origin);
    const page = await browser.go(authorizeUrl(clientId));
    const [form] = parseForms(page.body);
    const post = (email: string, password: string, forwardedFor: string) =>
      browser.go(form!.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
        body: new URLSearchParams({ ...form!.fields, email, password }),
      });
    return post;
  }

  it.each([
    // Not trusted: every claimed address is ignored; the socket's address is counted.
    ['untrusted, a new X-Forwarded-For each time', () => plain],
    // Trusted: only the address our proxy appended counts, not what the client put before it.
    ['trusted, a new address spoofed before the real one', () => behindProxy],
  ])('%s: the sixth attempt on one account is still throttled', async (_name, deployment) => {
    const forwardedFor = (n: number) => `198.51.100.${n}`;
    const { origin, server } = deployment();
    await server.services.accounts.create({ email: `xff-${server.config.port}@example.test`, password: PASSWORD });
    const post = await loginPage(origin, deployment().clientId);
    for (let n = 1; n <= 5; n++) expect((await post(`xff-${server.config.port}@example.test`, 'wrong password', forwardedFor(n))).status).toBe(400);
    const sixth = await post(`xff-${server.config.port}@example.test`, PASSWORD, forwardedFor(6));
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('does not take X-Forwarded-Proto: https as https: browser pages over what Latchkey sees as plain http get a readable 400 and no cookie', async () => {
    const untrusted = await start({ ISSUER: 'https://id.example.test', LATCHKEY_TRUST_PROXY: 'false' });
    const direct = `http://127.0.0.1:${untrusted.config.port}`;
    const page = await fetch(new URL(authorizeUrl(plain.clientId), untrusted.issuer.replace('https://id.example.test', direct)), {
      headers: { 'x-forwarded-proto': 'https', accept: 'text/html' },
      redirect: 'manual',
    });
    // The same request through the trusted proxy gets its interaction cookies (303, above);
    // here the Secure cookies cannot be set, so the page is refused before anything starts.
    expect(page.status).toBe(400);
    expect(page.headers.getSetCookie()).toEqual([]);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('This page is only available over https.');
    expect(html).not.toMatch(/\bat .+:\d+:\d+/);

    // Sign-in, consent and logout pages likewise; a JSON caller gets the error shape.
    for (const path of ['/interaction/abc', '/session/end']) {
      const response = await fetch(`${direct}${path}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
      expect(response.status, path).toBe(400);
      expect(await response.json(), path).toEqual({ error: 'https_required', error_description: 'This page is only available over https.' });
    }
    // What sets no cookie still answers plain http (services inside a private network fetch keys and tokens so).
    const discovery = await fetch(`${direct}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as { issuer: string }).issuer).toBe('https://id.example.test');
    expect((await fetch(`${direct}/jwks`)).status).toBe(200);
    expect((await fetch(`${direct}/authorize-not-a-page`)).status).toBe(404);
  });
});

describe('production', () => {
  it('refuses to start with an http issuer that is not loopback, in one line naming ISSUER', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts'],
        { cwd: root, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ISSUER: 'http://id.example.test', LATCHKEY_SECRET: SECRET, DATABASE_URL: database.url } },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(result.code).toBe(1);
    // Whatever else Node prints (oidc-provider warns about the runtime), ours is one line and no stack trace.
    expect(result.stderr.split('\n').filter((line) => line.startsWith('latchkey:'))).toEqual([
      'latchkey: configuration error: ISSUER: must use https in production (http is allowed only for loopback hosts)',
    ]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
