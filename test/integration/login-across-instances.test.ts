// Two Latchkey instances on one database behind a small load balancer (one
// issuer URL): a person who signs in through one instance and is sent to the
// other for consent, the token exchange, refresh or logout sees no difference,
// because sessions, interactions, grants and keys all live in the shared store.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, oauthError, signInAndAllow } from '../helpers/rp.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';

/** Forwards every request to the instance `pick` chooses, and remembers which one served it. */
function startBalancer(port: number, pick: () => TestServer) {
  const served: string[] = [];
  const server = http.createServer((req, res) => {
    const target = pick();
    served.push(target.config.port === instances[0]!.config.port ? 'A' : 'B');
    const upstream = http.request(
      { host: '127.0.0.1', port: target.config.port, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode!, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise<{ server: http.Server; served: string[] }>((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, served })));
}

let database: TestDatabase;
const instances: TestServer[] = [];
let balancer: { server: http.Server; served: string[] };
let route: 'A' | 'B' | 'round-robin' = 'A';
let turn = 0;
let issuer: string;
let client: { id: string; secret: string };
let ada: { id: string; email: string };

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  // What a deployment shares: the database, the issuer URL, the master secret.
  // No reuse grace: the refresh token used again at once below is a reuse, not a retry.
  const env = { ISSUER: issuer, LATCHKEY_SECRET: randomBytes(32).toString('base64url'), LATCHKEY_REFRESH_REUSE_GRACE: '0' };
  instances.push(await startTestServer({ database, env }));
  instances.push(await startTestServer({ database, env }));
  balancer = await startBalancer(port, () => {
    if (route === 'A') return instances[0]!;
    if (route === 'B') return instances[1]!;
    return instances[turn++ % 2]!;
  });

  const { accounts, clients } = instances[0]!.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada', password: PASSWORD });
  const created = await clients.create({ name: 'Shared app', redirectUris: [CALLBACK], postLogoutRedirectUris: ['https://app.example.test/bye'] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await new Promise((resolve) => balancer?.server.close(resolve));
  for (const instance of instances) await instance.stop();
  await database?.drop();
});

const rp = () => createRelyingParty({ issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });

describe('two instances, one database', () => {
  it('signs in through A, takes consent and the token exchange through B', async () => {
    route = 'A';
    const relyingParty = await rp();
    const request = await relyingParty.authorizationRequest({ scope: 'openid profile offline_access', prompt: 'consent' });
    const login = await relyingParty.browser.open(request.url);
    expect(heading(login)).toBe('Sign in');
    const consent = await relyingParty.browser.submit(login, { email: ada.email, password: PASSWORD });
    expect(heading(consent)).toMatch(/wants to access your account$/);

    route = 'B';
    balancer.served.length = 0;
    const callback = expectRedirect(await relyingParty.browser.submit(consent, {}, 'Allow'));
    const tokens = await relyingParty.exchange(callback, request);
    expect(balancer.served.every((instance) => instance === 'B')).toBe(true);
    expect(tokens.claims()).toMatchObject({ iss: issuer, sub: ada.id });

    route = 'A';
    expect(await relyingParty.userinfo(tokens.access_token, ada.id)).toMatchObject({ name: 'Ada' });
    route = 'B';
    const refreshed = await relyingParty.refresh(tokens.refresh_token!);
    route = 'A';
    // Reuse detected by the other instance than the one that rotated it.
    expect(await oauthError(relyingParty.refresh(tokens.refresh_token!))).toBe('invalid_grant');
    route = 'B';
    expect(await oauthError(relyingParty.refresh(refreshed.refresh_token!))).toBe('invalid_grant');
  });

  it('completes a whole flow and a logout with every request going to the other instance than the last', async () => {
    route = 'round-robin';
    balancer.served.length = 0;
    const relyingParty = await rp();
    const { request, callback } = await signInAndAllow(relyingParty, { email: ada.email, password: PASSWORD }, { scope: 'openid profile' });
    const tokens = await relyingParty.exchange(callback, request);
    expect(await relyingParty.userinfo(tokens.access_token, ada.id)).toMatchObject({ sub: ada.id });

    const silent = await relyingParty.authorizationRequest({ prompt: 'none', scope: 'openid profile' });
    expect(expectRedirect(await relyingParty.browser.open(silent.url)).searchParams.get('code')).toBeTruthy();

    const confirmation = expectPage(await relyingParty.browser.open(relyingParty.endSessionUrl({ id_token_hint: tokens.id_token! })));
    expect(heading(confirmation)).toBe('Sign out?');
    await relyingParty.browser.submit(confirmation, {}, 'Sign out');
    const after = await relyingParty.authorizationRequest({ prompt: 'none' });
    expect(expectRedirect(await relyingParty.browser.open(after.url)).searchParams.get('error')).toBe('login_required');

    expect(new Set(balancer.served)).toEqual(new Set(['A', 'B']));
  });
});
