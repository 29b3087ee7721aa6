// The verifier and its Koa middleware against a real Latchkey over HTTP:
// tokens come from the client-credentials grant and from people signing in
// (with a password alone, or with an authenticator app too), keys from the
// published JWKS, and a small Koa API stands in for a resource server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Router from '@koa/router';
import Koa from 'koa';
import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { createVerifier, requireToken, type TokenState, type Verifier, type VerifyError, type VerifyErrorCode } from '../../packages/verify/src/index.ts';
import { ACR_MFA } from '../../src/interactions/acr.ts';
import { codeAt, enrol } from '../helpers/mfa.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, UserAgent } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ORDERS = 'https://orders.example.test/api';
const BILLING = 'https://billing.example.test/api';
const WEB_CALLBACK = 'https://app.example.test/cb';
const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let reader: { id: string; secret: string };
let writer: { id: string; secret: string };
let billing: { id: string; secret: string };
let resourceServer: { id: string; secret: string };
let webApp: { id: string; secret: string };
let person: { id: string; email: string };
let verifier: Verifier;
let jwksFetches = 0;
let api: { url: string; close(): Promise<void> };

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function accessToken(client: { id: string; secret: string }, form: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(client.id, client.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function rejection(promise: Promise<unknown>): Promise<VerifyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected a rejection, the token was accepted');
  return error as VerifyError;
}

/** A GET with raw header lines, so the same header can be sent twice (fetch would join them). */
function rawGet(url: string, headers: [string, string][]): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    const grouped = new Map<string, string[]>();
    for (const [name, value] of headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
    for (const [name, values] of grouped) request.setHeader(name, values.length === 1 ? values[0]! : values);
    request.on('error', reject);
    request.end();
  });
}

async function startApi(routeVerifier: Verifier): Promise<typeof api> {
  const router = new Router<TokenState>();
  router.get('/orders', requireToken({ verifier: routeVerifier, scopes: ['orders:read'], realm: 'orders' }), (ctx) => {
    ctx.body = { sub: ctx.state.token.claims.sub, scopes: ctx.state.token.scopes };
  });
  router.post('/orders', requireToken({ verifier: routeVerifier, scopes: ['orders:write'], realm: 'orders' }), (ctx) => {
    ctx.status = 201;
    ctx.body = { created: true };
  });
  // Holds what is worth a second factor: RFC 9470 step-up for a password-only token.
  router.get('/orders/vault', requireToken({ verifier: routeVerifier, scopes: ['orders:read'], requireAcr: [ACR_MFA] }), (ctx) => {
    ctx.body = { acr: ctx.state.token.claims.acr, amr: ctx.state.token.claims.amr };
  });
  router.get('/orders/audit', requireToken({ verifier: routeVerifier, scopes: ['orders:read'], introspect: true }), (ctx) => {
    ctx.body = { audited: ctx.state.token.claims.jti };
  });
  const app = new Koa<TokenState>();
  app.use(router.routes());
  const listener = http.createServer(app.callback());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        listener.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  server = await startTestServer();
  const { resources, clients } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read', 'orders:write'] });
  await resources.create({ identifier: BILLING, scopes: ['billing:read'], signingAlg: 'RS256' });
  const created = await Promise.all([
    clients.create({ name: 'Order reader', grantTypes: ['client_credentials'], resources: [ORDERS], scope: 'orders:read' }),
    clients.create({ name: 'Order writer', grantTypes: ['client_credentials'], resources: [ORDERS] }),
    clients.create({ name: 'Billing job', grantTypes: ['client_credentials'], resources: [BILLING] }),
    // The orders API's own identity at Latchkey, for the online check.
    clients.create({ name: 'Orders API', grantTypes: ['client_credentials'], resources: [ORDERS] }),
    clients.create({ name: 'Web app', redirectUris: [WEB_CALLBACK], resources: [ORDERS] }),
  ]);
  [reader, writer, billing, resourceServer, webApp] = created.map((c) => ({ id: c.client.clientId, secret: c.clientSecret! }));
  person = await server.services.accounts.create({ email: 'ada@example.test', name: 'Ada', password: PASSWORD });

  const countingFetch: typeof fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/jwks')) jwksFetches += 1;
    return fetch(input, init);
  };
  verifier = createVerifier({
    issuer: server.issuer,
    audience: ORDERS,
    fetch: countingFetch,
    refetchCooldownMs: 60_000,
    introspect: { clientId: resourceServer.id, clientSecret: resourceServer.secret },
  });
  api = await startApi(verifier);
});

afterAll(async () => {
  await api?.close();
  await server?.stop();
});

describe('tokens Latchkey issues', () => {
  it('verify offline, with their claims and scopes, against the published JWKS', async () => {
    const token = await accessToken(writer);
    const verified = await verifier.verify(token, { requiredScopes: ['orders:read', 'orders:write'] });
    expect(verified.claims).toMatchObject({ iss: server.issuer, aud: ORDERS, sub: writer.id, client_id: writer.id, jti: expect.any(String) });
    expect(verified.scopes).toEqual(['orders:read', 'orders:write']);
    const published = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((key) => key.kid)).toContain(verified.header.kid);
    expect((await verifier.jwks()).keys).toEqual(published.keys);
  });

  it('verify for an RS256 resource too', async () => {
    const billingVerifier = createVerifier({ issuer: server.issuer, audience: BILLING });
    const token = await accessToken(billing);
    expect(decodeProtectedHeader(token).alg).toBe('RS256');
    await expect(billingVerifier.verify(token, { requiredScopes: ['billing:read'] })).resolves.toMatchObject({ scopes: ['billing:read'] });
  });

  const refused: [string, () => Promise<{ token: string; with?: Verifier }>, VerifyErrorCode][] = [
    ['a token for another resource', async () => ({ token: await accessToken(billing) }), 'audience_mismatch'],
    [
      'an expired token (the clock moved past exp plus tolerance)',
      async () => {
        const token = await accessToken(reader);
        const { exp } = decodeJwt(token) as { exp: number };
        return { token, with: createVerifier({ issuer: server.issuer, audience: ORDERS, now: () => (exp + 6) * 1000 }) };
      },
      'token_expired',
    ],
    [
      'a tampered payload (scope widened)',
      async () => {
        const [header, payload, signature] = (await accessToken(reader)).split('.');
        const claims = decodeJwt(`${header}.${payload}.${signature}`);
        return { token: `${header}.${base64url.encode(JSON.stringify({ ...claims, scope: 'orders:read orders:write' }))}.${signature}` };
      },
      'signature_invalid',
    ],
    [
      "another token's signature",
      async () => {
        const [a, b] = await Promise.all([accessToken(reader), accessToken(writer)]);
        return { token: `${a.split('.').slice(0, 2).join('.')}.${b.split('.')[2]}` };
      },
      'signature_invalid',
    ],
    [
      'a token signed by another key under Latchkey’s kid',
      async () => {
        const real = decodeProtectedHeader(await accessToken(reader));
        const { privateKey } = await generateKeyPair('ES256');
        const claims = { iss: server.issuer, aud: ORDERS, sub: 'x', client_id: 'x', scope: 'orders:read', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 };
        return { token: await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: real.kid! }).sign(privateKey) };
      },
      'signature_invalid',
    ],
    [
      'HS256 keyed with Latchkey’s published public key',
      async () => {
        const { keys } = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string; alg: string }[] };
        const es = keys.find((key) => key.alg === 'ES256')!;
        const claims = { iss: server.issuer, aud: ORDERS, sub: 'x', client_id: 'x', scope: 'orders:read', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 };
        return { token: await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: es.kid }).sign(new TextEncoder().encode(JSON.stringify(es))) };
      },
      'algorithm_not_allowed',
    ],
    ['an ES256 token where only RS256 is allowed', async () => ({ token: await accessToken(reader), with: createVerifier({ issuer: server.issuer, audience: ORDERS, algorithms: ['RS256'] }) }), 'algorithm_not_allowed'],
  ];

  it.each(refused)('refuses %s', async (_name, build, code) => {
    const { token, with: which = verifier } = await build();
    const error = await rejection(which.verify(token));
    expect({ code: error.code, status: error.status }).toEqual({ code, status: 401 });
  });

  it('refetches the real JWKS once for a flood of unknown kids', async () => {
    await verifier.verify(await accessToken(reader));
    const before = jwksFetches;
    const { privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        new SignJWT({ iss: server.issuer, aud: ORDERS, sub: 'x', client_id: 'x', iat: now, exp: now + 60 }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: `forged-${i}` }).sign(privateKey),
      ),
    );
    const codes = await Promise.all(forged.map(async (token) => (await rejection(verifier.verify(token))).code));
    expect(new Set(codes)).toEqual(new Set(['unknown_key']));
    for (const token of forged.slice(0, 5)) expect((await rejection(verifier.verify(token))).code).toBe('unknown_key');
    expect(jwksFetches - before).toBe(1);
    await expect(verifier.verify(await accessToken(reader))).resolves.toBeDefined();
  });
});

describe('tokens a person gets by signing in', () => {
  async function signIn() {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: WEB_CALLBACK });
    const request = await rp.authorizationRequest({ scope: 'openid orders:read', resource: ORDERS });
    const consent = await rp.browser.submit(await rp.browser.open(request.url), { email: person.email, password: PASSWORD });
    const callback = await rp.browser.submit(consent, {}, 'Allow');
    if (callback.kind !== 'redirect') throw new Error(`sign-in did not complete: ${callback.html.slice(0, 300)}`);
    return rp.exchange(callback.url, request);
  }

  it('accepts the access token for the API, and refuses the ID token even where its audience would match', async () => {
    const tokens = await signIn();
    await expect(verifier.verify(tokens.access_token, { requiredScopes: ['orders:read'] })).resolves.toMatchObject({
      claims: { sub: person.id, client_id: webApp.id, aud: ORDERS },
      scopes: ['orders:read'],
    });
    for (const audience of [ORDERS, webApp.id]) {
      const error = await rejection(createVerifier({ issuer: server.issuer, audience }).verify(tokens.id_token!));
      expect({ code: error.code, status: error.status }).toEqual({ code: 'wrong_token_type', status: 401 });
    }
  });
});

describe('requireAcr: a resource that demands a second factor (RFC 9470)', () => {
  /** A person's access token for the orders API: the password, then the code from `secret` if given. */
  async function personToken(email: string, secret?: string) {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: WEB_CALLBACK });
    const request = await rp.authorizationRequest({ scope: 'openid orders:read', resource: ORDERS });
    let page = expectPage(await rp.browser.submit(await rp.browser.open(request.url), { email, password: PASSWORD }));
    if (secret) {
      expect(heading(page)).toBe('Enter your code');
      page = expectPage(await rp.browser.submit(page, { code: codeAt(secret) }));
    }
    const tokens = await rp.exchange(expectRedirect(await rp.browser.submit(page, {}, 'Allow')), request);
    return tokens.access_token;
  }

  it('accepts the token of a sign-in with a second factor, and answers a password-only one with the step-up challenge', async () => {
    const grace = await server.services.accounts.create({ email: 'grace@example.test', name: 'Grace', password: PASSWORD });
    const { secret } = await enrol(new UserAgent(new URL(server.issuer).origin), grace.email, PASSWORD, -1);
    const strong = await personToken(grace.email, secret);
    const weak = await personToken(person.email);

    await expect(verifier.verify(strong, { requireAcr: [ACR_MFA] })).resolves.toMatchObject({ claims: { sub: grace.id, acr: ACR_MFA, amr: ['pwd', 'otp', 'mfa'] } });
    const error = await rejection(verifier.verify(weak, { requireAcr: [ACR_MFA] }));
    expect({ code: error.code, status: error.status, bearerError: error.bearerError }).toEqual({ code: 'insufficient_acr', status: 401, bearerError: 'insufficient_user_authentication' });

    const allowed = await fetch(`${api.url}/orders/vault`, { headers: { authorization: `Bearer ${strong}` } });
    expect({ status: allowed.status, body: await allowed.json() }).toEqual({ status: 200, body: { acr: ACR_MFA, amr: ['pwd', 'otp', 'mfa'] } });
    const refused = await fetch(`${api.url}/orders/vault`, { headers: { authorization: `Bearer ${weak}` } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_user_authentication", error_description="the access token comes from a sign-in weaker than this resource requires", acr_values="${ACR_MFA}"`,
    );
    expect(((await refused.json()) as { error: string }).error).toBe('insufficient_user_authentication');
    // A client-credentials token has no sign-in at all: the same answer.
    expect((await fetch(`${api.url}/orders/vault`, { headers: { authorization: `Bearer ${await accessToken(reader)}` } })).status).toBe(401);
  });
});

describe('requireToken (Koa) in front of an API', () => {
  it('lets a token with the route scope through and sets ctx.state.token', async () => {
    const response = await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${await accessToken(reader)}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sub: reader.id, scopes: ['orders:read'] });
  });

  it('answers 201 on a write route for a token with orders:write', async () => {
    const response = await fetch(`${api.url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${await accessToken(writer)}` } });
    expect(response.status).toBe(201);
  });

  it.each([
    ['no Authorization header', async () => [] as [string, string][], 401, undefined, 'Bearer realm="orders"'],
    ['a Basic header', async () => [['authorization', basic(reader.id, reader.secret)]] as [string, string][], 401, undefined, 'Bearer realm="orders"'],
    ['a malformed header', async () => [['authorization', 'Bearer two tokens']] as [string, string][], 400, 'invalid_request', /^Bearer realm="orders", error="invalid_request", error_description="[^"]+"$/],
    [
      'two Authorization headers',
      async () => {
        const token = await accessToken(reader);
        return [
          ['authorization', `Bearer ${token}`],
          ['authorization', `Bearer ${token}`],
        ] as [string, string][];
      },
      400,
      'invalid_request',
      /error="invalid_request"/,
    ],
    ['a token that is not a JWT', async () => [['authorization', 'Bearer abc.def']] as [string, string][], 401, 'invalid_token', /^Bearer realm="orders", error="invalid_token", error_description="[^"]+"$/],
    ['a token for another API', async () => [['authorization', `Bearer ${await accessToken(billing)}`]] as [string, string][], 401, 'invalid_token', /error="invalid_token"/],
  ])('refuses %s', async (_name, headers, status, error, challenge) => {
    const response = await rawGet(`${api.url}/orders`, await headers());
    expect(response.status).toBe(status);
    if (typeof challenge === 'string') expect(response.headers['www-authenticate']).toBe(challenge);
    else expect(response.headers['www-authenticate']).toMatch(challenge);
    expect(JSON.parse(response.body).error).toBe(error ?? 'unauthorized');
  });

  it('answers 403 insufficient_scope naming the scope the route needs', async () => {
    const response = await fetch(`${api.url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${await accessToken(reader)}` } });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="the access token does not carry every scope this resource requires", scope="orders:write"',
    );
    expect(((await response.json()) as { error: string }).error).toBe('insufficient_scope');
  });
});

describe('the online check against Latchkey’s introspection endpoint (RFC 7662)', () => {
  async function revoke(token: string, by: { id: string; secret: string }) {
    const response = await fetch(`${server.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic(by.id, by.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    expect(response.status).toBe(200);
  }

  it('accepts a live token, and refuses it once revoked although it still verifies offline', async () => {
    const token = await accessToken(reader);
    await expect(verifier.verify(token, { introspect: true, requiredScopes: ['orders:read'] })).resolves.toMatchObject({ claims: { sub: reader.id } });
    const before = await fetch(`${api.url}/orders/audit`, { headers: { authorization: `Bearer ${token}` } });
    expect(before.status).toBe(200);

    await revoke(token, reader);

    await expect(verifier.verify(token)).resolves.toMatchObject({ claims: { sub: reader.id } });
    const error = await rejection(verifier.verify(token, { introspect: true }));
    expect({ code: error.code, status: error.status }).toEqual({ code: 'token_inactive', status: 401 });
    const after = await fetch(`${api.url}/orders/audit`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    expect((await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('fails closed when the resource server’s own credentials are refused', async () => {
    const wrong = createVerifier({ issuer: server.issuer, audience: ORDERS, introspect: { clientId: resourceServer.id, clientSecret: 'not-the-secret' } });
    const error = await rejection(wrong.verify(await accessToken(reader), { introspect: true }));
    expect({ code: error.code, status: error.status }).toEqual({ code: 'introspection_unavailable', status: 503 });
  });
});
