// Token exchange (RFC 8693) end to end: a person signs in to a web app, whose
// access token for the orders API reaches the orders service (A); A, with
// openid-client v6 (genericGrantRequest), exchanges it at Latchkey for a token
// to the inventory API (B), which @latchkey/verify accepts for B's audience.
// The new token names the person, A as the actor (`act`), scopes narrowed to
// what the person's token held. Every refusal is a table row asserting the
// exact error code.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { createVerifier } from '../../packages/verify/src/index.ts';
import { InvalidInputError } from '../../src/errors.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createRelyingParty, oauthError, signInAndAllow } from '../helpers/rp.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
// A's API: the person consents to inventory:read there, which A may pass on.
const ORDERS = 'https://orders.example.test/api';
// B: what A calls on the person's behalf.
const INVENTORY = 'https://inventory.example.test/api';
// A resource A is not allowed to exchange for, and whose tokens are not A's.
const BILLING = 'https://billing.example.test/api';
// A's too, with one-second tokens: for an expired subject token.
const SHORT = 'https://short.example.test/api';
const REDIRECT_URI = 'https://app.example.test/callback';
const USER = { email: 'exchange@example.test', password: 'correct horse battery staple' };

let server: TestServer;
let userId: string;
let webApp: { id: string; secret: string };
let orderService: { id: string; secret: string };
let inventoryService: { id: string; secret: string };
let spa: { id: string };
/** The person's token for A's API, as the web app got it. */
let subjectToken: string;
let expiredToken: string;
let billingToken: string;

/** A confidential client as openid-client sees it (client_secret_basic). */
async function asClient(client: { id: string; secret?: string }) {
  return oidc.discovery(new URL(server.issuer), client.id, client.secret ? {} : { token_endpoint_auth_method: 'none' }, client.secret ? oidc.ClientSecretBasic(client.secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

function exchange(config: oidc.Configuration, params: Record<string, string>) {
  return oidc.genericGrantRequest(config, GRANT, params);
}

/** The person's access token for `resource`, through the web app's code flow. */
async function personToken(resource: string, scope: string): Promise<string> {
  const rp = await createRelyingParty({ issuer: server.issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: REDIRECT_URI });
  const { request, callback } = await signInAndAllow(rp, USER, { scope: `openid ${scope}`, resource, prompt: 'consent' });
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: request.codeVerifier, expectedState: request.state, expectedNonce: request.nonce }, { resource });
  return tokens.access_token;
}

beforeAll(async () => {
  server = await startTestServer();
  const { resources, clients, accounts } = server.services;
  await resources.create({ identifier: ORDERS, scopes: ['orders:read', 'inventory:read', 'inventory:write'] });
  await resources.create({ identifier: INVENTORY, scopes: ['inventory:read', 'inventory:write', 'inventory:admin'] });
  await resources.create({ identifier: BILLING, scopes: ['billing:read', 'inventory:read'] });
  await resources.create({ identifier: SHORT, scopes: ['inventory:read'], accessTokenTtl: 1 });
  const web = await clients.create({ name: 'Shop', redirectUris: [REDIRECT_URI], resources: [ORDERS, BILLING, SHORT] });
  webApp = { id: web.client.clientId, secret: web.clientSecret! };
  const orders = await clients.create({ name: 'Order service', grantTypes: ['token-exchange'], resources: [ORDERS, SHORT], tokenExchangeAudiences: [INVENTORY] });
  orderService = { id: orders.client.clientId, secret: orders.clientSecret! };
  const inventory = await clients.create({ name: 'Inventory service', grantTypes: [GRANT], resources: [INVENTORY], tokenExchangeAudiences: [BILLING] });
  inventoryService = { id: inventory.client.clientId, secret: inventory.clientSecret! };
  spa = { id: (await clients.create({ name: 'Single-page app', public: true, redirectUris: [REDIRECT_URI], resources: [ORDERS] })).client.clientId };
  userId = (await accounts.create(USER)).id;

  subjectToken = await personToken(ORDERS, 'orders:read inventory:read');
  billingToken = await personToken(BILLING, 'billing:read');
  expiredToken = await personToken(SHORT, 'inventory:read');
  await sleep(2100);
});

afterAll(async () => {
  await server?.stop();
});

describe('registration', () => {
  it('stores the grant by its URN (token-exchange accepted for short) with the allow-list, and derives scope from it', async () => {
    const view = await server.services.clients.get(orderService.id);
    expect(view.grantTypes).toEqual([GRANT]);
    expect(view.tokenExchangeAudiences).toEqual([INVENTORY]);
    expect(view.scope.split(' ')).toEqual(expect.arrayContaining(['inventory:read', 'inventory:admin']));
  });

  it.each([
    ['a public client', { public: true, grantTypes: [GRANT], resources: [ORDERS], tokenExchangeAudiences: [INVENTORY] }, 'grant_types'],
    ['the grant without an allow-list', { grantTypes: [GRANT], resources: [ORDERS] }, 'token_exchange_audiences'],
    ['an allow-list without the grant', { grantTypes: ['client_credentials'], resources: [ORDERS], tokenExchangeAudiences: [INVENTORY] }, 'token_exchange_audiences'],
    ['a client that must bind its tokens with DPoP (exchanged tokens are Bearer)', { grantTypes: [GRANT], resources: [ORDERS], tokenExchangeAudiences: [INVENTORY], requireDpop: true }, 'dpop_bound_access_tokens'],
    ['an unregistered audience', { grantTypes: [GRANT], resources: [ORDERS], tokenExchangeAudiences: ['https://nowhere.example.test'] }, 'token_exchange_audiences[0]'],
  ])('refuses %s', async (_name, input, field) => {
    const error = await server.services.clients.create({ name: 'Refused', ...input }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe(field);
  });

  it('takes --token-exchange-audience on `latchkey client create/update`, and --clear it only with the grant gone too', async () => {
    const env = { DATABASE_URL: server.database.url, ISSUER: server.issuer };
    const created = await runCli(['client', 'create', '--name', 'CLI exchanger', '--grant-types', 'token-exchange', '--resource', ORDERS, '--token-exchange-audience', INVENTORY, '--json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const { client } = JSON.parse(created.stdout) as { client: { clientId: string; grantTypes: string[]; tokenExchangeAudiences: string[] } };
    expect(client).toMatchObject({ grantTypes: [GRANT], tokenExchangeAudiences: [INVENTORY] });
    const updated = await runCli(['client', 'update', client.clientId, '--token-exchange-audience', INVENTORY, '--token-exchange-audience', BILLING, '--json'], { env });
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout).client.tokenExchangeAudiences).toEqual([INVENTORY, BILLING]);
    const cleared = await runCli(['client', 'update', client.clientId, '--clear', 'token-exchange-audience'], { env });
    expect(cleared.code).not.toBe(0);
    expect(cleared.stderr).toMatch(/token-exchange-audience|token_exchange_audiences/);
  });

  it('takes token_exchange_audiences in the Admin API, the grant by its short name', async () => {
    const token = await adminToken(server, ['clients:write', 'clients:read']);
    const created = await adminCall(server, '/clients', { token, body: { client_name: 'API exchanger', grant_types: ['token-exchange'], resources: [ORDERS], token_exchange_audiences: [INVENTORY] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ grant_types: [GRANT], token_exchange_audiences: [INVENTORY] });
    const refused = await adminCall(server, '/clients', { token, body: { client_name: 'API exchanger', grant_types: [GRANT], resources: [ORDERS], token_exchange_audiences: ['https://nowhere.example.test'] } });
    expect(refused.status).toBe(400);
  });

  it('takes a deleted resource off every allow-list', async () => {
    const doomed = 'https://doomed.example.test/api';
    await server.services.resources.create({ identifier: doomed, scopes: ['inventory:read'] });
    const created = await server.services.clients.create({ name: 'Doomed exchanger', grantTypes: [GRANT], resources: [ORDERS], tokenExchangeAudiences: [INVENTORY, doomed] });
    await server.services.resources.delete(doomed);
    expect((await server.services.clients.get(created.client.clientId)).tokenExchangeAudiences).toEqual([INVENTORY]);
  });

  it('advertises the grant in discovery', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).toContain(GRANT);
  });
});

describe('openid-client as service A: A → B', () => {
  let answer: oidc.TokenEndpointResponse;

  beforeAll(async () => {
    answer = await exchange(await asClient(orderService), { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: INVENTORY, scope: 'inventory:read' });
  });

  it('answers with a Bearer access token, its type, and no refresh token', () => {
    expect(answer).toMatchObject({ token_type: 'bearer', issued_token_type: ACCESS_TOKEN, scope: 'inventory:read' });
    expect(answer.expires_in).toBeGreaterThan(0);
    expect(answer.refresh_token).toBeUndefined();
  });

  it('names the person, B as the audience, A as the actor, and carries how the person signed in', () => {
    const subject = decodeJwt(subjectToken);
    const claims = decodeJwt(answer.access_token);
    expect(decodeProtectedHeader(answer.access_token).typ).toBe('at+jwt');
    expect(claims).toMatchObject({ iss: server.issuer, sub: userId, aud: INVENTORY, client_id: orderService.id, scope: 'inventory:read', act: { sub: orderService.id } });
    expect(claims.acr).toBe(subject.acr);
    expect(claims.amr).toEqual(subject.amr);
    expect(claims.auth_time).toBe(subject.auth_time);
    expect(claims.acr).toEqual(expect.any(String));
  });

  it('is accepted by @latchkey/verify for B, and refused for A', async () => {
    const verified = await createVerifier({ issuer: server.issuer, audience: INVENTORY }).verify(answer.access_token);
    expect(verified.claims).toMatchObject({ sub: userId, act: { sub: orderService.id } });
    expect(verified.scopes).toEqual(['inventory:read']);
    await expect(createVerifier({ issuer: server.issuer, audience: ORDERS }).verify(answer.access_token)).rejects.toMatchObject({ name: 'InvalidTokenError' });
  });

  it('narrows an omitted scope to what the person’s token holds (not inventory:write, which A could ask for)', async () => {
    const narrowed = await exchange(await asClient(orderService), { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, audience: INVENTORY });
    expect(decodeJwt(narrowed.access_token).scope).toBe('inventory:read');
  });

  it('is active at introspection for B’s service', async () => {
    const introspected = await oidc.tokenIntrospection(await asClient(inventoryService), answer.access_token);
    expect(introspected).toMatchObject({ active: true, sub: userId, aud: INVENTORY });
  });

  it('takes the same service named as resource and as audience as one target', async () => {
    const both = await exchange(await asClient(orderService), { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: INVENTORY, audience: INVENTORY });
    expect(decodeJwt(both.access_token).aud).toBe(INVENTORY);
  });

  it('nests the actor when an exchanged token is exchanged again (B → billing)', async () => {
    const again = await exchange(await asClient(inventoryService), { subject_token: answer.access_token, subject_token_type: ACCESS_TOKEN, resource: BILLING });
    expect(decodeJwt(again.access_token)).toMatchObject({ sub: userId, aud: BILLING, scope: 'inventory:read', act: { sub: inventoryService.id, act: { sub: orderService.id } } });
  });

  it('is audited as token.exchanged, without the tokens', async () => {
    // The server records audit events in batches.
    let events = await server.services.audit.list({ types: ['token.exchanged'], limit: 100 });
    for (let tries = 0; tries < 50 && !events.some((e) => e.actor === orderService.id); tries++) {
      await sleep(100);
      events = await server.services.audit.list({ types: ['token.exchanged'], limit: 100 });
    }
    const event = events.find((e) => e.actor === orderService.id);
    expect(event).toMatchObject({ subject: userId, clientId: orderService.id, details: { from: [ORDERS], to: INVENTORY, scope: ['inventory:read'] } });
    expect(JSON.stringify(events)).not.toContain(subjectToken.split('.')[2]);
  });
});

describe('refusals', () => {
  const base = () => ({ subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: INVENTORY });

  async function foreignlySigned(): Promise<string> {
    const { privateKey } = await generateKeyPair('ES256');
    const claims = decodeJwt(subjectToken);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeProtectedHeader(subjectToken).kid! })
      .sign(privateKey);
  }

  const cases: [string, () => Promise<{ client: { id: string; secret?: string }; params: Record<string, string> }>, string][] = [
    ['a scope the subject token does not hold (widened)', async () => ({ client: orderService, params: { ...base(), scope: 'inventory:write' } }), 'invalid_scope'],
    ['a scope B has but A may not pass on', async () => ({ client: orderService, params: { ...base(), scope: 'inventory:read inventory:admin' } }), 'invalid_scope'],
    ['an audience not on A’s allow-list', async () => ({ client: orderService, params: { ...base(), resource: BILLING } }), 'invalid_target'],
    ['an audience that is no registered resource', async () => ({ client: orderService, params: { ...base(), resource: 'https://nowhere.example.test' } }), 'invalid_target'],
    ['two different targets', async () => ({ client: orderService, params: { ...base(), audience: BILLING } }), 'invalid_target'],
    ['an expired subject token', async () => ({ client: orderService, params: { ...base(), subject_token: expiredToken } }), 'invalid_grant'],
    ['a subject token signed by another key', async () => ({ client: orderService, params: { ...base(), subject_token: await foreignlySigned() } }), 'invalid_grant'],
    ['a subject token for another audience than A’s', async () => ({ client: orderService, params: { ...base(), subject_token: billingToken } }), 'invalid_grant'],
    ['a subject token that is no JWT', async () => ({ client: orderService, params: { ...base(), subject_token: 'not-a-token' } }), 'invalid_grant'],
    ['a client without the grant', async () => ({ client: webApp, params: base() }), 'unauthorized_client'],
    ['a public client', async () => ({ client: spa, params: base() }), 'unauthorized_client'],
    ['a missing subject_token', async () => ({ client: orderService, params: { subject_token_type: ACCESS_TOKEN, resource: INVENTORY } }), 'invalid_request'],
    ['another subject_token_type', async () => ({ client: orderService, params: { ...base(), subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' } }), 'invalid_request'],
    ['no target at all', async () => ({ client: orderService, params: { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN } }), 'invalid_request'],
  ];

  it.each(cases)('%s → %s', async (_name, make, error) => {
    const { client, params } = await make();
    expect(await oauthError(exchange(await asClient(client), params))).toBe(error);
  });
});
