// RFC 7662 introspection and RFC 7009 revocation of Latchkey's JWT access
// tokens, over HTTP against a real server: oidc-provider alone answers
// unsupported_token_type for any JWT. Active tokens come back with their
// claims; revoked, expired, foreign and grant-less ones come back inactive;
// the endpoints keep their client authentication and who-may-see-what rules;
// opaque tokens are still oidc-provider's. Grant revocation (logout,
// refresh-token reuse, a disabled account) reaches tokens never stored.
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRANT_CLAIM } from '../../src/oidc/grant-reference.ts';
import { REVOKED_ACCESS_TOKEN_MODEL } from '../../src/oidc/revoked-access-tokens.ts';
import { createVerifier } from '../../packages/verify/src/index.ts';
import { createRelyingParty, expectPage, oauthError, signInAndAllow, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ORDERS = 'https://orders.example.test/api';
const SHORT = 'https://short.example.test/api';
const PASSWORD = 'correct horse battery staple';
const WEB_CALLBACK = 'https://app.example.test/cb';
const SPA_CALLBACK = 'https://spa.example.test/cb';

type Credentials = { id: string; secret?: string };
let server: TestServer;
let service: Credentials;
let other: Credentials;
let resourceServer: Credentials;
let web: Credentials;
let spa: Credentials;
let ada: { id: string; email: string };

const basic = ({ id, secret }: Credentials) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret ?? '')}`).toString('base64')}`;

/** POSTs a form to one of the issuer's endpoints, as `caller` (client_secret_basic, or client_id alone for a public client). */
async function post(path: string, form: Record<string, string>, caller?: Credentials) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(form);
  if (caller?.secret) headers.authorization = basic(caller);
  else if (caller) body.set('client_id', caller.id);
  const response = await fetch(`${server.issuer}${path}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const introspect = (token: string, caller: Credentials = resourceServer, hint?: string) =>
  post('/token/introspection', { token, ...(hint ? { token_type_hint: hint } : {}) }, caller);
const revoke = (token: string, caller: Credentials, hint?: string) => post('/token/revocation', { token, ...(hint ? { token_type_hint: hint } : {}) }, caller);
const isActive = async (token: string, caller?: Credentials) => (await introspect(token, caller)).body.active;

async function clientCredentials(client: Credentials, resource?: string): Promise<string> {
  const { status, body } = await post('/token', { grant_type: 'client_credentials', ...(resource ? { resource } : {}) }, client);
  if (status !== 200) throw new Error(`token request failed: ${JSON.stringify(body)}`);
  return body.access_token as string;
}

const sleepUntil = (epochMs: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));

beforeAll(async () => {
  // No reuse grace: a refresh token used again at once is a reuse here, not a retry.
  server = await startTestServer({ env: { LATCHKEY_REGISTRY_WATCH_INTERVAL_MS: '200', LATCHKEY_REFRESH_REUSE_GRACE: '0' } });
  const { accounts, clients, resources } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read', 'orders:write'] });
  // Two seconds, not one: exp is whole seconds after a floored iat, so a one-second token issued late in its second lives only a few milliseconds.
  await resources.create({ identifier: SHORT, scopes: ['short:read'], accessTokenTtl: 2 });
  ada = await accounts.create({ email: 'ada@example.test', password: PASSWORD });
  const made = await Promise.all([
    clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [ORDERS, SHORT] }),
    clients.create({ name: 'Another job', grantTypes: ['client_credentials'], resources: [ORDERS] }),
    // The orders API's own identity, for its online checks.
    clients.create({ name: 'Orders API', grantTypes: ['client_credentials'], resources: [ORDERS] }),
    clients.create({ name: 'Web app', redirectUris: [WEB_CALLBACK], resources: [ORDERS] }),
    clients.create({ name: 'Single-page app', public: true, redirectUris: [SPA_CALLBACK], resources: [ORDERS] }),
  ]);
  [service, other, resourceServer, web, spa] = made.map((m) => ({ id: m.client.clientId, ...(m.clientSecret ? { secret: m.clientSecret } : {}) }));
});

afterAll(async () => {
  await server?.stop();
});

const webRp = () => createRelyingParty({ issuer: server.issuer, clientId: web.id, clientSecret: web.secret!, redirectUri: WEB_CALLBACK });
const spaRp = () => createRelyingParty({ issuer: server.issuer, clientId: spa.id, redirectUri: SPA_CALLBACK });

/** A person signs in through `rp` and allows; the tokens include a JWT access token for ORDERS. */
async function userTokens(rp: RelyingParty, { offline = false } = {}) {
  const params = { scope: `openid orders:read${offline ? ' offline_access' : ''}`, resource: ORDERS, ...(offline ? { prompt: 'consent' } : {}) };
  const { request, callback } = await signInAndAllow(rp, { email: ada.email, password: PASSWORD }, params);
  const tokens = await rp.exchange(callback, request);
  expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
  return tokens;
}

describe('introspection of an active JWT access token', () => {
  it('answers active: true with the token’s claims, no-store, for a resource server introspecting another client’s token', async () => {
    const token = await clientCredentials(service, ORDERS);
    const claims = decodeJwt(token);
    const { status, headers, body } = await introspect(token);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(headers.get('cache-control')).toContain('no-store');
    expect(body).toEqual({
      active: true,
      token_type: 'Bearer',
      iss: server.issuer,
      aud: ORDERS,
      sub: service.id,
      client_id: service.id,
      scope: 'orders:read orders:write',
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
    });
  });

  it('answers as the RFC says even to a caller that prefers HTML (oidc-provider renders its refusal as a page then)', async () => {
    const send = async (path: string, token: string, caller: Credentials) =>
      fetch(`${server.issuer}${path}`, {
        method: 'POST',
        headers: { authorization: basic(caller), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({ token }),
      });
    const token = await clientCredentials(service, ORDERS);
    const introspection = await send('/token/introspection', token, resourceServer);
    expect(introspection.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await introspection.json()).toMatchObject({ active: true, client_id: service.id });
    const revocation = await send('/token/revocation', token, service);
    expect({ status: revocation.status, type: revocation.headers.get('content-type'), body: await revocation.text() }).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: '' });
  });

  it('names the grant inside a person’s token, keeps it out of the answer, and answers for the person', async () => {
    const tokens = await userTokens(await webRp());
    expect(decodeJwt(tokens.access_token)[GRANT_CLAIM]).toEqual(expect.any(String));
    const { body } = await introspect(tokens.access_token);
    expect(body).toMatchObject({ active: true, sub: ada.id, client_id: web.id, aud: ORDERS, scope: 'orders:read' });
    expect(body).not.toHaveProperty(GRANT_CLAIM);
  });

  it('serves @latchkey/verify’s online check (introspect: true)', async () => {
    const verifier = createVerifier({ issuer: server.issuer, audience: ORDERS, introspect: { clientId: resourceServer.id, clientSecret: resourceServer.secret! } });
    const token = await clientCredentials(service, ORDERS);
    expect((await verifier.verify(token, { introspect: true })).claims.client_id).toBe(service.id);
    await revoke(token, service);
    await expect(verifier.verify(token, { introspect: true })).rejects.toMatchObject({ code: 'token_inactive' });
    expect((await verifier.verify(token)).claims.jti, 'offline, a revoked token still verifies: the online check is what catches it').toBe(decodeJwt(token).jti);
  });
});

describe('tokens that are not active', () => {
  /** Signed with a fresh key that claims to be ours (our kid in the header). */
  async function foreign(claims: JWTPayload) {
    const { privateKey } = await generateKeyPair('ES256');
    const kid = decodeProtectedHeader(await clientCredentials(service, ORDERS)).kid;
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);
  }
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it.each([
    ['signed by another key under our kid', async () => foreign(decodeJwt(await clientCredentials(service, ORDERS)))],
    ['with a tampered payload', async () => {
      const [h, p, s] = (await clientCredentials(service, ORDERS)).split('.');
      return [h, b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'orders:admin' }), s].join('.');
    }],
    ['with alg none', async () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(decodeJwt(await clientCredentials(service, ORDERS)))}.`],
    ['an ID token (typ JWT), signed by us', async () => (await userTokens(await webRp())).id_token!],
    ['a token of ours with its signature cut off', async () => (await clientCredentials(service, ORDERS)).replace(/\.[^.]+$/, '.')],
    ['a made-up structured token', async () => 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'],
  ])('%s: active false', async (_name, make) => {
    const token = await make();
    expect((await introspect(token)).body).toEqual({ active: false });
  });

  it('an expired token: active false', async () => {
    const token = await clientCredentials(service, SHORT);
    expect(await isActive(token)).toBe(true);
    await sleepUntil(decodeJwt(token).exp! * 1000 + 50);
    expect((await introspect(token)).body).toEqual({ active: false });
  });

  it('a revoked token: active false, recorded until it would have expired; other tokens unaffected', async () => {
    const token = await clientCredentials(service, ORDERS);
    const sibling = await clientCredentials(service, ORDERS);
    const { status, text } = await revoke(token, service, 'access_token');
    expect({ status, text }).toEqual({ status: 200, text: '' });
    expect((await introspect(token)).body).toEqual({ active: false });
    expect(await isActive(sibling)).toBe(true);
    const { jti, exp } = decodeJwt(token);
    const row = await server.database.db.prisma.oidcArtifact.findUnique({ where: { model_id: { model: REVOKED_ACCESS_TOKEN_MODEL, id: jti! } } });
    expect(row?.expiresAt?.getTime()).toBe(exp! * 1000);
    // Revoking again, or revoking garbage, is answered 200 as RFC 7009 asks.
    expect((await revoke(token, service)).status).toBe(200);
    expect((await revoke('eyJhbGciOiJub25lIn0.e30.', service)).status).toBe(200);
  });

  it('a token whose client was deleted: active false', async () => {
    const doomed = await server.services.clients.create({ name: 'Short-lived job', grantTypes: ['client_credentials'], resources: [ORDERS] });
    const token = await clientCredentials({ id: doomed.client.clientId, secret: doomed.clientSecret! });
    expect(await isActive(token)).toBe(true);
    await server.services.clients.delete(doomed.client.clientId);
    // Clients are cached per instance and dropped within one registry watch interval (200 ms here).
    const deadline = Date.now() + 5000;
    while ((await isActive(token)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await isActive(token)).toBe(false);
  });
});

describe('tokens whose grant was revoked', () => {
  it('by logout', async () => {
    const rp = await webRp();
    const tokens = await userTokens(rp);
    expect(await isActive(tokens.access_token)).toBe(true);
    const confirmation = expectPage(await rp.browser.open(rp.endSessionUrl({ id_token_hint: tokens.id_token! })));
    await rp.browser.submit(confirmation, {}, 'Sign out');
    expect(await isActive(tokens.access_token)).toBe(false);
  });

  it('by refresh-token reuse: every JWT of the grant, old and new', async () => {
    const rp = await webRp();
    const first = await userTokens(rp, { offline: true });
    const second = await rp.refresh(first.refresh_token!);
    expect([await isActive(first.access_token), await isActive(second.access_token)]).toEqual([true, true]);
    expect(await oauthError(rp.refresh(first.refresh_token!))).toBe('invalid_grant');
    expect([await isActive(first.access_token), await isActive(second.access_token)]).toEqual([false, false]);
  });

  it('by disabling the account', async () => {
    const bob = await server.services.accounts.create({ email: 'bob@example.test', password: PASSWORD });
    const rp = await webRp();
    const { request, callback } = await signInAndAllow(rp, { email: bob.email, password: PASSWORD }, { scope: 'openid orders:read', resource: ORDERS });
    const tokens = await rp.exchange(callback, request);
    expect(await isActive(tokens.access_token)).toBe(true);
    await server.services.accounts.disable(bob.email);
    expect(await isActive(tokens.access_token)).toBe(false);
  });
});

describe('who may introspect and revoke', () => {
  it.each([
    ['a wrong secret', () => ({ id: resourceServer.id, secret: 'not-the-secret' }), 401, 'invalid_client'],
    ['an unknown client', () => ({ id: 'lk_nobody', secret: 'whatever' }), 401, 'invalid_client'],
    ['a confidential client presenting no secret', () => ({ id: resourceServer.id }), 401, 'invalid_client'],
    // oidc-provider treats a request naming no client at all as malformed, as at the token endpoint.
    ['no client authentication at all', () => undefined, 400, 'invalid_request'],
  ])('refuses introspection and revocation with %s', async (_name, make, status, error) => {
    const token = await clientCredentials(service, ORDERS);
    for (const path of ['/token/introspection', '/token/revocation']) {
      const response = await post(path, { token }, make());
      expect({ path, status: response.status, error: response.body.error, active: response.body.active }).toEqual({ path, status, error, active: undefined });
    }
    expect(await isActive(token), 'a refused revocation revokes nothing').toBe(true);
  });

  it('lets a public client introspect only its own tokens', async () => {
    const own = await userTokens(await spaRp());
    expect((await introspect(own.access_token, spa)).body).toMatchObject({ active: true, client_id: spa.id });
    expect((await introspect(await clientCredentials(service, ORDERS), spa)).body).toEqual({ active: false });
  });

  it('lets only the token’s own client revoke it: another confidential client is told so, a public one ignored', async () => {
    const token = await clientCredentials(service, ORDERS);
    const refused = await revoke(token, other);
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    expect((await revoke(token, spa)).status).toBe(200);
    expect(await isActive(token)).toBe(true);
    expect((await revoke(token, service)).status).toBe(200);
    expect(await isActive(token)).toBe(false);
  });
});

describe('opaque tokens are still oidc-provider’s', () => {
  it('introspects and revokes a refresh token', async () => {
    const rp = await webRp();
    const tokens = await userTokens(rp, { offline: true });
    expect((await introspect(tokens.refresh_token!, web, 'refresh_token')).body).toMatchObject({ active: true, client_id: web.id, sub: ada.id });
    expect((await revoke(tokens.refresh_token!, web, 'refresh_token')).status).toBe(200);
    expect((await introspect(tokens.refresh_token!, web)).body).toEqual({ active: false });
  });

  it('introspects an opaque access token (no resource: for userinfo only)', async () => {
    const rp = await webRp();
    const { request, callback } = await signInAndAllow(rp, { email: ada.email, password: PASSWORD }, { scope: 'openid' });
    const tokens = await rp.exchange(callback, request);
    expect(() => decodeProtectedHeader(tokens.access_token)).toThrow();
    expect((await introspect(tokens.access_token)).body).toMatchObject({ active: true, client_id: web.id, sub: ada.id, token_type: 'Bearer' });
    expect((await introspect('not-a-token-at-all')).body).toEqual({ active: false });
  });
});
