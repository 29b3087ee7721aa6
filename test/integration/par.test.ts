// Pushed authorization requests (RFC 9126), made deliberate: openid-client v6
// pushes the request (buildAuthorizationUrlWithPAR) and runs the code flow
// with the request_uri; a client registered by the CLI with --require-par
// has a plain authorization request refused (invalid_request, §5), and so
// does every registered client with LATCHKEY_REQUIRE_PAR (advertised in
// discovery), while the built-in account page still signs in. Client
// authentication at /request shares its failure counts with /token: the
// same throttle, not a look-alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, type RelyingParty } from '../helpers/rp.ts';

const ORDERS = 'https://orders.example.test/api';
const REDIRECT_URI = 'https://app.example.test/callback';
const USER = { email: 'par@example.test', password: 'correct horse battery staple' };

let server: TestServer;
let strictServer: TestServer;
/** Registered with the CLI (--require-par); the other with the services. */
let strict: { id: string; secret: string };
let relaxed: { id: string; secret: string };

async function cli(target: TestServer, args: readonly string[]) {
  const result = await runCli([...args, '--json'], { env: { DATABASE_URL: target.database.url, ISSUER: target.issuer } });
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout) as { client: Record<string, unknown> & { clientId: string }; clientSecret?: string };
}

/** The push, then the person signing in and allowing, then the code exchanged: openid-client all the way. */
async function pushedCodeFlow(rp: RelyingParty) {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid orders:read',
    resource: ORDERS,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const login = await rp.browser.open(url);
  expect(heading(login)).toBe('Sign in');
  const consent = await rp.browser.submit(login, USER);
  const callback = expectRedirect(await rp.browser.submit(consent, {}, 'Allow'));
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce }, { resource: ORDERS });
  return { url, tokens };
}

/** A plain (not pushed) request, as a browser would follow it: where Latchkey sends it. */
async function plainRequest(rp: RelyingParty) {
  const request = await rp.authorizationRequest({ scope: 'openid' });
  return expectRedirect(await rp.browser.open(request.url));
}

beforeAll(async () => {
  server = await startTestServer();
  await server.services.resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
  await server.services.accounts.create(USER);
  const created = await cli(server, ['client', 'create', '--name', 'Pushing app', '--redirect-uri', REDIRECT_URI, '--resource', ORDERS, '--require-par']);
  strict = { id: created.client.clientId, secret: created.clientSecret! };
  const other = await server.services.clients.create({ name: 'Relaxed app', redirectUris: [REDIRECT_URI], resources: [ORDERS] });
  relaxed = { id: other.client.clientId, secret: other.clientSecret! };
});

afterAll(async () => {
  await strictServer?.stop();
  await server?.stop();
});

describe('PAR, optional for a client', () => {
  it('openid-client pushes the request and runs the code flow with the request_uri alone', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: relaxed.id, clientSecret: relaxed.secret, redirectUri: REDIRECT_URI });
    const { url, tokens } = await pushedCodeFlow(rp);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.claims()?.sub).toEqual(expect.any(String));
  });

  it('still serves a plain authorization request (not required here)', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: relaxed.id, clientSecret: relaxed.secret, redirectUri: REDIRECT_URI });
    const request = await rp.authorizationRequest({ scope: 'openid' });
    expect(heading(await rp.browser.open(request.url))).toBe('Sign in');
  });

  it('a request_uri works once', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: relaxed.id, clientSecret: relaxed.secret, redirectUri: REDIRECT_URI });
    const { url } = await pushedCodeFlow(rp);
    const again = expectPage(await rp.browser.open(url));
    expect(again.status).toBe(400);
    expect(again.html).toContain('invalid_request_uri');
  });

  it('does not advertise PAR as required server-wide', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${server.issuer}/request`);
    expect(metadata).not.toHaveProperty('require_pushed_authorization_requests');
  });
});

describe('PAR required of a client (--require-par)', () => {
  it('is shown by the CLI, and stored as require_pushed_authorization_requests', async () => {
    const shown = await cli(server, ['client', 'show', strict.id]);
    expect(shown.client).toMatchObject({ requirePar: true, requireDpop: false });
    expect(await server.services.clients.findProviderMetadata(strict.id)).toMatchObject({ require_pushed_authorization_requests: true });
  });

  it('refuses a plain authorization request with invalid_request (RFC 9126 §5)', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: strict.id, clientSecret: strict.secret, redirectUri: REDIRECT_URI });
    const callback = await plainRequest(rp);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBe('invalid_request');
  });

  it('serves the pushed request', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: strict.id, clientSecret: strict.secret, redirectUri: REDIRECT_URI });
    expect((await pushedCodeFlow(rp)).tokens.access_token).toEqual(expect.any(String));
  });

  it('is lifted by `client update --require-par false`', async () => {
    const { client } = await cli(server, ['client', 'update', strict.id, '--require-par', 'false']);
    expect(client.requirePar).toBe(false);
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: strict.id, clientSecret: strict.secret, redirectUri: REDIRECT_URI });
    // The registry cache notices the change within LATCHKEY_REGISTRY_WATCH_INTERVAL_MS.
    const deadline = Date.now() + 5000;
    for (;;) {
      const request = await rp.authorizationRequest({ scope: 'openid' });
      const step = await rp.browser.open(request.url);
      if (step.kind === 'page' && heading(step) === 'Sign in') break;
      if (Date.now() > deadline) throw new Error('the plain request is still refused');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await cli(server, ['client', 'update', strict.id, '--require-par', 'true']);
  });
});

describe('client authentication at /request', () => {
  it('shares its failure counts with /token: failures at /token get /request refused 429', async () => {
    const basic = (secret: string) => `Basic ${Buffer.from(`${relaxed.id}:${secret}`).toString('base64')}`;
    const post = (path: string, secret: string, form: Record<string, string>) =>
      fetch(`${server.issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(secret) }, body: new URLSearchParams(form) });
    const push = { response_type: 'code', client_id: relaxed.id, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    for (let n = 0; n < 10; n++) expect((await post('/token', `wrong-${n}`, { grant_type: 'client_credentials' })).status).toBe(401);
    for (let n = 0; n < 10; n++) expect((await post('/request', `wrong-push-${n}`, push)).status).toBe(401);
    const refused = await post('/request', 'wrong again', push);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: 'temporarily_unavailable' });
    // The token endpoint is blocked for the same key too, and the right secret is still served at both.
    expect((await post('/token', 'wrong once more', { grant_type: 'client_credentials' })).status).toBe(429);
    expect((await post('/request', relaxed.secret, push)).status).toBe(201);
  });
});

describe('LATCHKEY_REQUIRE_PAR=true', () => {
  beforeAll(async () => {
    strictServer = await startTestServer({ env: { LATCHKEY_REQUIRE_PAR: 'true' } });
  });

  it('advertises require_pushed_authorization_requests and refuses every plain request from a registered client', async () => {
    const metadata = (await (await fetch(`${strictServer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.require_pushed_authorization_requests).toBe(true);
    const { client, clientSecret } = await strictServer.services.clients.create({ name: 'Any app', redirectUris: [REDIRECT_URI] });
    const rp = await createRelyingParty({ issuer: strictServer.issuer, clientId: client.clientId, clientSecret, redirectUri: REDIRECT_URI });
    expect((await plainRequest(rp)).searchParams.get('error')).toBe('invalid_request');
    const pushed = await oidc.buildAuthorizationUrlWithPAR(rp.config, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    expect(heading(await rp.browser.open(pushed))).toBe('Sign in');
  });

  it('leaves the account page signing in (its built-in client is not bound)', async () => {
    const rp = await createRelyingParty({ issuer: strictServer.issuer, clientId: 'unused', redirectUri: REDIRECT_URI });
    expect(heading(await rp.browser.open('/account'))).toBe('Sign in');
  });
});
