// DPoP (RFC 9449) end to end: openid-client v6 as the RP binds its tokens to
// a key (getDPoPHandle) through the code flow and refresh, and a resource
// server built on @latchkey/verify (its `dpop` option, the Koa middleware)
// accepts the bound token only with a proof of that key. A replayed proof or
// one made for another URL is refused by Latchkey's token endpoint and by the
// verifier; a --require-dpop client gets nothing without a proof.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Koa from 'koa';
import * as oidc from 'openid-client';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createVerifier, requireToken, type TokenState } from '../../packages/verify/src/index.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createRelyingParty, oauthError, signInAndAllow, type RelyingParty } from '../helpers/rp.ts';

const ORDERS = 'https://orders.example.test/api';
const REDIRECT_URI = 'https://app.example.test/callback';
const USER = { email: 'dpop@example.test', password: 'correct horse battery staple' };

interface ProofKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
  readonly jkt: string;
}

let server: TestServer;
let service: { id: string; secret: string };
let strictService: { id: string; secret: string };
let publicApp: { id: string };
let webApp: { id: string; secret: string };
let resourceServer: { url: string; close: () => Promise<void> };

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

/** An RFC 9449 proof made by hand, for what openid-client would never send (a replay, a wrong htu). */
async function proof(key: ProofKey, htm: string, htu: string, accessToken?: string): Promise<string> {
  const ath = accessToken === undefined ? {} : { ath: Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))).toString('base64url') };
  return new SignJWT({ htm, htu, jti: randomUUID(), ...ath })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .setIssuedAt()
    .sign(key.privateKey);
}

async function clientCredentials(client: { id: string; secret: string }, dpop?: string) {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      ...(dpop ? { dpop } : {}),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: ORDERS, scope: 'orders:read' }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A resource server: GET /orders behind @latchkey/verify with DPoP on. */
async function startResourceServer(issuer: string) {
  const verifier = createVerifier({ issuer, audience: ORDERS, dpop: true });
  const app = new Koa<TokenState>();
  app.use(requireToken({ verifier, scopes: ['orders:read'] }));
  app.use((ctx) => {
    ctx.body = { sub: ctx.state.token.claims.sub, jkt: ctx.state.token.claims.cnf?.jkt };
  });
  const listening = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listening.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}/orders`,
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}

async function callResource(headers: Record<string, string>, url = resourceServer.url) {
  const response = await fetch(url, { headers });
  return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  server = await startTestServer();
  const { resources, clients, accounts } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
  const created = await clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [ORDERS] });
  service = { id: created.client.clientId, secret: created.clientSecret! };
  const strict = await clients.create({ name: 'Strict order sync', grantTypes: ['client_credentials'], resources: [ORDERS], requireDpop: true });
  strictService = { id: strict.client.clientId, secret: strict.clientSecret! };
  const spa = await clients.create({ name: 'Single-page app', public: true, redirectUris: [REDIRECT_URI], resources: [ORDERS] });
  publicApp = { id: spa.client.clientId };
  const web = await clients.create({ name: 'Web app', redirectUris: [REDIRECT_URI], resources: [ORDERS] });
  webApp = { id: web.client.clientId, secret: web.clientSecret! };
  await accounts.create(USER);
  resourceServer = await startResourceServer(server.issuer);
});

afterAll(async () => {
  await resourceServer?.close();
  await server?.stop();
});

describe('discovery', () => {
  it('advertises the DPoP proof algorithms', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256']);
  });
});

describe('openid-client: DPoP code flow and refresh', () => {
  let rp: RelyingParty;
  let key: ProofKey;
  let dpop: oidc.DPoPHandle;
  let tokens: oidc.TokenEndpointResponse;

  beforeAll(async () => {
    rp = await createRelyingParty({ issuer: server.issuer, clientId: publicApp.id, redirectUri: REDIRECT_URI });
    key = await proofKey();
    dpop = oidc.getDPoPHandle(rp.config, { privateKey: key.privateKey, publicKey: key.publicKey });
    const { request, callback } = await signInAndAllow(rp, USER, { scope: 'openid offline_access orders:read', prompt: 'consent', resource: ORDERS });
    tokens = await oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: request.codeVerifier, expectedState: request.state, expectedNonce: request.nonce }, { resource: ORDERS }, { DPoP: dpop });
  });

  it('gets a DPoP access token bound to the proof key (cnf.jkt)', () => {
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(tokens.refresh_token).toEqual(expect.any(String));
  });

  it('refreshes with the same key, and the new access token is bound to it too', async () => {
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!, { resource: ORDERS }, { DPoP: dpop });
    expect(refreshed.token_type).toBe('dpop');
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: key.jkt });
    tokens = refreshed;
  });

  it("refuses to refresh a public client's bound refresh token with another key", async () => {
    const other = await proofKey();
    const thief = oidc.getDPoPHandle(rp.config, { privateKey: other.privateKey, publicKey: other.publicKey });
    expect(await oauthError(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!, { resource: ORDERS }, { DPoP: thief }))).toBe('invalid_grant');
  });

  it('@latchkey/verify accepts the bound token with a proof of its key (openid-client fetchProtectedResource)', async () => {
    const response = await oidc.fetchProtectedResource(rp.config, tokens.access_token, new URL(resourceServer.url), 'GET', undefined, undefined, { DPoP: dpop });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ jkt: key.jkt });
  });

  it('@latchkey/verify refuses it without a proof, as Bearer, and with a replayed or wrong-htu proof', async () => {
    const token = tokens.access_token;
    const bearer = await callResource({ authorization: `Bearer ${token}` });
    expect(bearer).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(bearer.challenge).toMatch(/^DPoP algs="[^"]+", error="invalid_token"/);

    const bare = await callResource({ authorization: `DPoP ${token}` });
    expect(bare).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof' } });
    expect(bare.challenge).toMatch(/^DPoP algs="[^"]+", error="invalid_dpop_proof"/);

    const once = await proof(key, 'GET', resourceServer.url, token);
    expect((await callResource({ authorization: `DPoP ${token}`, dpop: once })).status).toBe(200);
    expect(await callResource({ authorization: `DPoP ${token}`, dpop: once })).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof' } });

    const elsewhere = await proof(key, 'GET', resourceServer.url.replace('/orders', '/invoices'), token);
    expect(await callResource({ authorization: `DPoP ${token}`, dpop: elsewhere })).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof' } });
  });

  it('binds a confidential client’s access tokens too (its refresh token is bound by its authentication instead)', async () => {
    const web = await createRelyingParty({ issuer: server.issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: REDIRECT_URI });
    web.browser.jar.clear();
    const webKey = await proofKey();
    const handle = oidc.getDPoPHandle(web.config, { privateKey: webKey.privateKey, publicKey: webKey.publicKey });
    const { request, callback } = await signInAndAllow(web, USER, { scope: 'openid offline_access orders:read', prompt: 'consent', resource: ORDERS });
    const answer = await oidc.authorizationCodeGrant(web.config, callback, { pkceCodeVerifier: request.codeVerifier, expectedState: request.state, expectedNonce: request.nonce }, { resource: ORDERS }, { DPoP: handle });
    expect(answer.token_type).toBe('dpop');
    expect(decodeJwt(answer.access_token).cnf).toEqual({ jkt: webKey.jkt });
  });
});

describe("Latchkey's token endpoint", () => {
  it('binds a client-credentials token to the proof key, and gives Bearer without a proof', async () => {
    const key = await proofKey();
    const bound = await clientCredentials(service, await proof(key, 'POST', `${server.issuer}/token`));
    expect(bound.status).toBe(200);
    expect(bound.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(bound.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    const plain = await clientCredentials(service);
    expect(plain.body.token_type).toBe('Bearer');
    expect(decodeJwt(String(plain.body.access_token))).not.toHaveProperty('cnf');
  });

  it('refuses a replayed proof, and keeps its jti in the shared artifact table (so every instance refuses it)', async () => {
    const key = await proofKey();
    const once = await proof(key, 'POST', `${server.issuer}/token`);
    expect((await clientCredentials(service, once)).status).toBe(200);
    const replayed = await clientCredentials(service, once);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_grant');
    expect(await server.database.db.prisma.oidcArtifact.count({ where: { model: 'ReplayDetection' } })).toBeGreaterThan(0);
  });

  it('accepts one of 20 parallel requests carrying one proof and refuses the other 19', async () => {
    const key = await proofKey();
    const once = await proof(key, 'POST', `${server.issuer}/token`);
    const answers = await Promise.all(Array.from({ length: 20 }, () => clientCredentials(service, once)));
    const accepted = answers.filter((answer) => answer.status === 200);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.body.token_type).toBe('DPoP');
    expect(answers.filter((answer) => answer.status !== 200)).toEqual(Array(19).fill({ status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } }));
  });

  it('refuses a proof made for another URL (htu) or method (htm)', async () => {
    const key = await proofKey();
    for (const made of [await proof(key, 'POST', `${server.issuer}/token/introspection`), await proof(key, 'GET', `${server.issuer}/token`)]) {
      const answer = await clientCredentials(service, made);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_dpop_proof');
    }
  });

  it('gives a --require-dpop client nothing without a proof, and a DPoP token with one', async () => {
    const refused = await clientCredentials(strictService);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_dpop_proof');
    const key = await proofKey();
    const served = await clientCredentials(strictService, await proof(key, 'POST', `${server.issuer}/token`));
    expect(served.status).toBe(200);
    expect(served.body.token_type).toBe('DPoP');
  });
});

describe('two instances on one database', () => {
  it('refuse a proof at one instance that the other has already accepted', async () => {
    const database = await createTestDatabase();
    // Behind one trusted proxy, as in production: both see the same public host, so one proof's htu fits both.
    // And one master secret, as every instance sharing a database has.
    const env = { LATCHKEY_TRUST_PROXY: 'true', LATCHKEY_SECRET: randomBytes(32).toString('base64url') };
    const first = await startTestServer({ database, env });
    const second = await startTestServer({ database, env });
    try {
      await first.services.resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
      const created = await first.services.clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [ORDERS] });
      const key = await proofKey();
      const once = await proof(key, 'POST', 'http://latchkey.example.test/token');
      const send = async (instance: TestServer) => {
        const response = await fetch(`${instance.issuer}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-forwarded-host': 'latchkey.example.test',
            'x-forwarded-proto': 'http',
            authorization: `Basic ${Buffer.from(`${created.client.clientId}:${created.clientSecret}`).toString('base64')}`,
            dpop: once,
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', resource: ORDERS, scope: 'orders:read' }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const accepted = await send(first);
      expect(accepted.status).toBe(200);
      expect(accepted.body.token_type).toBe('DPoP');
      expect(await send(second)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    } finally {
      await second.stop();
      await first.stop();
      await database.drop();
    }
  });
});
