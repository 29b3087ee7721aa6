// DPoP is off until Latchkey can bind tokens end to end (@latchkey/verify checks
// no proof yet): a client that sends a valid DPoP proof to /token must get a
// plain Bearer token, never `token_type: DPoP` with a `cnf.jkt` that no
// resource server would enforce, and discovery must not advertise DPoP.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createRelyingParty, signInAndAllow } from '../helpers/rp.ts';

const ORDERS = 'https://orders.example.test/api';
const REDIRECT_URI = 'https://app.example.test/callback';
const USER = { email: 'dpop@example.test', password: 'correct horse battery staple' };

let server: TestServer;
let service: { id: string; secret: string };
let webApp: { id: string; secret: string };

/** A valid RFC 9449 proof for a POST to `url`, signed with a fresh key. */
async function dpopProof(url: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const proof = await new SignJWT({ htm: 'POST', htu: url, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(privateKey);
  return { proof, jkt: await calculateJwkThumbprint(jwk) };
}

async function tokenRequest(form: Record<string, string>, client: { id: string; secret: string }, dpop?: string) {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      ...(dpop ? { dpop } : {}),
    },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Either an OAuth error or a Bearer token whose JWT carries no confirmation claim. */
function expectUnbound(answer: { status: number; body: Record<string, unknown> }, tokenField = 'access_token') {
  if (answer.status !== 200) {
    expect(answer.body.error).toEqual(expect.any(String));
    return;
  }
  expect(answer.body.token_type).toBe('Bearer');
  expect(decodeJwt(String(answer.body[tokenField]))).not.toHaveProperty('cnf');
}

beforeAll(async () => {
  server = await startTestServer();
  const { resources, clients, accounts } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read'] });
  const created = await clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [ORDERS] });
  service = { id: created.client.clientId, secret: created.clientSecret! };
  const web = await clients.create({ name: 'Web app', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'], resources: [ORDERS] });
  webApp = { id: web.client.clientId, secret: web.clientSecret! };
  await accounts.create(USER);
});

afterAll(async () => {
  await server?.stop();
});

describe('DPoP is switched off', () => {
  it('answers a client-credentials request with a DPoP proof with a Bearer token without cnf', async () => {
    const { proof } = await dpopProof(`${server.issuer}/token`);
    const answer = await tokenRequest({ grant_type: 'client_credentials' }, service, proof);
    expect(answer.status).toBe(200);
    expectUnbound(answer);
  });

  it('answers code and refresh exchanges with a DPoP proof with Bearer tokens without cnf', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: REDIRECT_URI });
    const { request, callback } = await signInAndAllow(rp, USER, { scope: 'openid offline_access orders:read', prompt: 'consent', resource: ORDERS });
    const code = await tokenRequest(
      { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: request.codeVerifier, resource: ORDERS },
      webApp,
      (await dpopProof(`${server.issuer}/token`)).proof,
    );
    expect(code.status).toBe(200);
    expectUnbound(code);
    const refresh = await tokenRequest(
      { grant_type: 'refresh_token', refresh_token: String(code.body.refresh_token), resource: ORDERS },
      webApp,
      (await dpopProof(`${server.issuer}/token`)).proof,
    );
    expect(refresh.status).toBe(200);
    expectUnbound(refresh);
  });

  it('does not advertise DPoP in discovery', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const metadata = (await (await fetch(`${server.issuer}${path}`)).json()) as Record<string, unknown>;
      expect(metadata).not.toHaveProperty('dpop_signing_alg_values_supported');
    }
  });
});
