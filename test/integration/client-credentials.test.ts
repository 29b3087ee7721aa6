// The client-credentials grant end to end over HTTP: a service gets an RFC 9068
// JWT for a registered API and the token verifies against the published JWKS.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ORDERS = 'https://orders.example.test/api';
const BILLING = 'https://billing.example.test/api';

let server: TestServer;
let service: { id: string; secret: string };
let twoApis: { id: string; secret: string };
let webApp: { id: string; secret: string };

/** Polls `check` until it holds; fails after a few registry watch intervals (200 ms here). */
async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within the registry watch interval');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function conditionalGet(url: string, etag: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'if-none-match': etag } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function token(form: Record<string, string>, auth?: string, init: RequestInit = {}) {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
    body: new URLSearchParams(form),
    ...init,
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body, headers: response.headers };
}

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_REGISTRY_WATCH_INTERVAL_MS: '200' } });
  const { resources, clients } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read', 'orders:write'] });
  await resources.create({ identifier: BILLING, scopes: ['billing:read'], signingAlg: 'RS256', accessTokenTtl: 120 });
  const a = await clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [ORDERS], scope: 'orders:read' });
  service = { id: a.client.clientId, secret: a.clientSecret! };
  const b = await clients.create({ name: 'Reporting', grantTypes: ['client_credentials'], resources: [ORDERS, BILLING] });
  twoApis = { id: b.client.clientId, secret: b.clientSecret! };
  const c = await clients.create({ name: 'Web app', redirectUris: ['https://app.example.test/cb'] });
  webApp = { id: c.client.clientId, secret: c.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

describe('discovery and JWKS', () => {
  it('serves OpenID and RFC 8414 metadata with the same issuer', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(`${server.issuer}${path}`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(server.issuer);
      expect(metadata.jwks_uri).toBe(`${server.issuer}/jwks`);
      expect(metadata.token_endpoint).toBe(`${server.issuer}/token`);
      expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
      expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
      expect(metadata.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
      expect(metadata.introspection_endpoint).toBeDefined();
      expect(metadata.revocation_endpoint).toBeDefined();
    }
  });

  it('publishes only public keys, each with kid, alg and use', async () => {
    const response = await fetch(`${server.issuer}/jwks`);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    for (const key of keys) {
      expect(key).toMatchObject({ use: 'sig', kid: expect.any(String) });
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
    }
  });
});

describe('client_credentials', () => {
  it('issues an RFC 9068 JWT for the one registered resource, verifiable with the JWKS', async () => {
    const { status, body } = await token({ grant_type: 'client_credentials', scope: 'orders:read' }, basic(service.id, service.secret));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'orders:read', expires_in: expect.any(Number) });
    const accessToken = body.access_token as string;
    expect(decodeProtectedHeader(accessToken)).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: expect.any(String) });

    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: server.issuer, audience: ORDERS, typ: 'at+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ client_id: service.id, sub: service.id, scope: 'orders:read', aud: ORDERS });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('defaults to every scope the client may have when none is asked for', async () => {
    const { status, body } = await token({ grant_type: 'client_credentials' }, basic(service.id, service.secret));
    expect(status).toBe(200);
    expect(body.scope).toBe('orders:read');
  });

  it('accepts client_secret_post and an explicit resource; honours the resource algorithm and TTL', async () => {
    const { status, body } = await token({ grant_type: 'client_credentials', resource: BILLING, client_id: twoApis.id, client_secret: twoApis.secret });
    expect(status).toBe(200);
    expect(decodeProtectedHeader(body.access_token as string)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload } = await jwtVerify(body.access_token as string, jwks, { issuer: server.issuer, audience: BILLING });
    expect(payload.scope).toBe('billing:read');
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it.each([
    ['a wrong secret', () => ({ form: { grant_type: 'client_credentials' }, auth: basic(service.id, 'not-the-secret') }), 401, 'invalid_client'],
    ['an unknown client', () => ({ form: { grant_type: 'client_credentials' }, auth: basic('lk_nobody', 'x') }), 401, 'invalid_client'],
    // oidc-provider treats a request naming no client at all as malformed.
    ['no client authentication', () => ({ form: { grant_type: 'client_credentials' } }), 400, 'invalid_request'],
    ['an unregistered resource', () => ({ form: { grant_type: 'client_credentials', resource: 'https://nope.example.test/' }, auth: basic(service.id, service.secret) }), 400, 'invalid_target'],
    ['a resource the client is not registered for', () => ({ form: { grant_type: 'client_credentials', resource: BILLING }, auth: basic(service.id, service.secret) }), 400, 'invalid_target'],
    ['no resource when the client has several', () => ({ form: { grant_type: 'client_credentials' }, auth: basic(twoApis.id, twoApis.secret) }), 400, 'invalid_target'],
    ['a scope outside the client registration', () => ({ form: { grant_type: 'client_credentials', scope: 'orders:write' }, auth: basic(service.id, service.secret) }), 400, 'invalid_scope'],
    ['a scope the resource does not have', () => ({ form: { grant_type: 'client_credentials', scope: 'orders:delete' }, auth: basic(service.id, service.secret) }), 400, 'invalid_scope'],
    ['an unsupported grant type', () => ({ form: { grant_type: 'password', username: 'a', password: 'b' }, auth: basic(service.id, service.secret) }), 400, 'unsupported_grant_type'],
    ['a grant type the client is not registered for', () => ({ form: { grant_type: 'client_credentials' }, auth: basic(webApp.id, webApp.secret) }), 400, 'unauthorized_client'],
    ['authorization_code from a client_credentials client', () => ({ form: { grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://a.test/cb', code_verifier: 'v'.repeat(43) }, auth: basic(service.id, service.secret) }), 400, 'unauthorized_client'],
    ['a missing grant_type', () => ({ form: {}, auth: basic(service.id, service.secret) }), 400, 'invalid_request'],
  ])('refuses %s', async (_name, build, status, error) => {
    const { form, auth } = build() as { form: Record<string, string>; auth?: string };
    const response = await token(form, auth);
    expect({ status: response.status, error: response.body.error }, JSON.stringify(response.body)).toEqual({ status, error });
    expect(response.body).not.toHaveProperty('access_token');
    if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('keeps invalid_request for a repeated grant_type, even from a client not registered for it', async () => {
    // unauthorized_client is recognised by oidc-provider's condition (unauthorized-client.ts), not by its wording: a repeated grant_type is refused before it.
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(webApp.id, webApp.secret) },
      body: 'grant_type=client_credentials&grant_type=client_credentials',
    });
    expect({ status: response.status, error: ((await response.json()) as { error?: string }).error }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('answers malformed requests with a spec-shaped error, never a 500', async () => {
    const cases: RequestInit[] = [
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' },
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&grant_type=client_credentials' },
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%' },
      { method: 'GET' },
    ];
    for (const init of cases) {
      const response = await fetch(`${server.issuer}/token`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: basic(service.id, service.secret) } });
      expect(response.status, `${init.method} ${String(init.body)}`).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      if (response.headers.get('content-type')?.includes('json')) {
        expect(((await response.json()) as { error?: string }).error).toMatch(/^[a-z_]+$/);
      }
    }
  });

  it('stops accepting the old secret on every instance within one registry watch interval of a rotation', async () => {
    const created = await server.services.clients.create({ name: 'Rotating', grantTypes: ['client_credentials'], resources: [ORDERS] });
    const id = created.client.clientId;
    // A new client is served within the interval too (its absence was cached).
    await until(async () => (await token({ grant_type: 'client_credentials' }, basic(id, created.clientSecret!))).status === 200);
    const rotated = await server.services.clients.rotateSecret(id);
    await until(async () => (await token({ grant_type: 'client_credentials' }, basic(id, created.clientSecret!))).body.error === 'invalid_client');
    expect((await token({ grant_type: 'client_credentials' }, basic(id, rotated.clientSecret!))).status).toBe(200);
    await server.services.clients.delete(id);
    await until(async () => (await token({ grant_type: 'client_credentials' }, basic(id, rotated.clientSecret!))).body.error === 'invalid_client');
  });
});

describe('caching of discovery and JWKS', () => {
  it.each(['/jwks', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])('%s is cacheable for five minutes and revalidates with its ETag', async (path) => {
    const first = await fetch(`${server.issuer}${path}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    // node:http, not fetch: fetch turns a hand-set If-None-Match into a no-cache request.
    const again = await conditionalGet(`${server.issuer}${path}`, etag!);
    expect(again).toEqual({ status: 304, body: '' });
    const stale = await conditionalGet(`${server.issuer}${path}`, '"something-else"');
    expect(stale.status).toBe(200);
    expect(JSON.parse(stale.body)).toEqual((await first.json()) as object);
  });

  it('never caches the token endpoint', async () => {
    const response = await token({ grant_type: 'client_credentials' }, basic(service.id, service.secret));
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('etag')).toBeNull();
  });
});
