// The Admin API's clients and resources over HTTP, with client-credentials
// tokens for the admin resource: each endpoint's happy path, a table of
// refusals each asserting status and problem code, cursor pagination with
// inserts between pages, and the audit events the changes leave.
import { SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys/create-keys.ts';
import { adminResourceIdentifier } from '../../src/resources/admin-resource.ts';
import { adminCall, adminToken, clientCredentialsToken, createAdminClient, until, type AdminClient, type AdminResponse } from '../helpers/admin.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ORDERS = 'https://orders.example.test/api';
const BILLING = 'https://billing.example.test/api';

let server: TestServer;
let ops: AdminClient;
/** Every admin scope. */
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  await server.services.resources.create({ identifier: ORDERS, scopes: ['orders:read', 'orders:write'] });
  ops = await createAdminClient(server);
  token = await clientCredentialsToken(server, ops);
});

afterAll(async () => {
  await server?.stop();
});

const api = <T = any>(path: string, request: Parameters<typeof adminCall>[2] = {}): Promise<AdminResponse<T>> => adminCall<T>(server, path, { token, ...request });

const newWebClient = (name = 'Web app') => ({
  client_name: name,
  redirect_uris: ['https://app.example.test/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  resources: [ORDERS],
});

describe('clients', () => {
  it('create → 201 with the secret once, a Location and an ETag; the secret works at the token endpoint', async () => {
    const created = await api('/clients', { body: { client_name: 'Sync', grant_types: ['client_credentials'], resources: [ORDERS], scope: 'orders:read' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ client_name: 'Sync', grant_types: ['client_credentials'], scope: 'orders:read', resources: [ORDERS], client_secret_set: true });
    expect(created.body.client_secret).toEqual(expect.any(String));
    expect(created.headers.get('location')).toBe(`/admin/v1/clients/${created.body.client_id}`);
    expect(created.headers.get('etag')).toMatch(/^"\d+"$/);
    const orders = await clientCredentialsToken(server, { clientId: created.body.client_id, clientSecret: created.body.client_secret }, { resource: ORDERS });
    expect(orders.split('.')).toHaveLength(3);
  });

  it('create and patch take the device grant by its URN, or as device_code, and show it as the URN', async () => {
    const urn = 'urn:ietf:params:oauth:grant-type:device_code';
    const created = await api('/clients', { body: { client_name: 'TV', grant_types: [urn, 'refresh_token'], token_endpoint_auth_method: 'none' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ grant_types: [urn, 'refresh_token'], redirect_uris: [], client_secret_set: false, scope: 'openid profile email offline_access' });
    const { body: web } = await api('/clients', { body: newWebClient('Web and TV') });
    const patched = await api(`/clients/${web.client_id}`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { grant_types: ['authorization_code', 'device_code'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.grant_types).toEqual(['authorization_code', urn]);
    const refused = await api('/clients', { body: { client_name: 'TV', grant_types: ['urn:ietf:params:oauth:grant-type:device-code'] } });
    expect(refused.status).toBe(400);
  });

  it('get → the client without its secret, with the ETag of its version', async () => {
    const { body: created } = await api('/clients', { body: newWebClient() });
    const read = await api(`/clients/${created.client_id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ client_id: created.client_id, redirect_uris: ['https://app.example.test/callback'], client_secret_set: true });
    expect(read.body).not.toHaveProperty('client_secret');
    expect(JSON.stringify(read.body)).not.toContain(created.client_secret);
    expect(read.headers.get('etag')).toBeTruthy();
  });

  it('patch with If-Match → 200, the new object and a new ETag; the old ETag is then stale (412) and nothing changes', async () => {
    const { body: created } = await api('/clients', { body: newWebClient() });
    const { headers } = await api(`/clients/${created.client_id}`);
    const etag = headers.get('etag')!;
    const patched = await api(`/clients/${created.client_id}`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      headers: { 'if-match': etag },
      body: { redirect_uris: ['https://app.example.test/new-callback'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.redirect_uris).toEqual(['https://app.example.test/new-callback']);
    expect(patched.body.client_name).toBe('Web app');
    expect(patched.headers.get('etag')).not.toBe(etag);
    const stale = await api(`/clients/${created.client_id}`, { method: 'PATCH', headers: { 'if-match': etag }, body: { client_name: 'Overwritten' } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');
    expect((await api(`/clients/${created.client_id}`)).body.client_name).toBe('Web app');
  });

  it('racing PATCHes with the same If-Match: exactly one wins, the others get 412 (the database decides, not the process)', async () => {
    const { body: created, headers } = await api('/clients', { body: newWebClient() });
    const etag = headers.get('etag')!;
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api(`/clients/${created.client_id}`, { method: 'PATCH', headers: { 'if-match': etag }, body: { client_name: `Racer ${i}` } })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412, 412, 412, 412]);
    const winner = answers.find((answer) => answer.status === 200)!;
    expect((await api(`/clients/${created.client_id}`)).body.client_name).toBe(winner.body.client_name);
  });

  it('racing PATCHes without If-Match all apply, each to the row the last one left', async () => {
    const { body: created } = await api('/clients', { body: newWebClient() });
    const answers = await Promise.all(
      ['https://a.example.test/cb', 'https://b.example.test/cb', 'https://c.example.test/cb'].map((uri) => api(`/clients/${created.client_id}`, { method: 'PATCH', body: { redirect_uris: [uri] } })),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((answer) => answer.headers.get('etag'))).size).toBe(3);
  });

  it('sets and clears RFC 9126 require_pushed_authorization_requests and RFC 9449 dpop_bound_access_tokens', async () => {
    const { body: created } = await api('/clients', { body: { ...newWebClient(), require_pushed_authorization_requests: true, dpop_bound_access_tokens: true } });
    expect(created).toMatchObject({ require_pushed_authorization_requests: true, dpop_bound_access_tokens: true });
    const metadata = await server.services.clients.findProviderMetadata(created.client_id);
    expect(metadata).toMatchObject({ require_pushed_authorization_requests: true, dpop_bound_access_tokens: true });
    const patched = await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { require_pushed_authorization_requests: null, dpop_bound_access_tokens: false } });
    expect(patched.body).toMatchObject({ require_pushed_authorization_requests: false, dpop_bound_access_tokens: false });
    const machine = await api('/clients', { body: { client_name: 'Sync', grant_types: ['client_credentials'], resources: [ORDERS], require_pushed_authorization_requests: true } });
    expect(machine.status).toBe(400);
    expect(machine.body.errors[0].field).toBe('require_pushed_authorization_requests');
  });

  it('patch with null puts a field back to its default, and the result is checked like a registration', async () => {
    const { body: created } = await api('/clients', { body: { ...newWebClient(), backchannel_logout_uri: 'https://app.example.test/logout', require_mfa: true } });
    const reset = await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { backchannel_logout_uri: null, require_mfa: null } });
    expect(reset.status).toBe(200);
    expect(reset.body).not.toHaveProperty('backchannel_logout_uri');
    expect(reset.body.require_mfa).toBe(false);
    // Becoming a machine client while keeping redirect URIs breaks a rule: 400 naming the field.
    const broken = await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { grant_types: ['client_credentials'] } });
    expect(broken.status).toBe(400);
    expect(broken.body.errors[0].field).toBe('redirect_uris');
  });

  it('patch to a public client drops its secret; back to client_secret_basic answers a new one, once', async () => {
    const { body: created } = await api('/clients', { body: newWebClient() });
    const publicClient = await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { token_endpoint_auth_method: 'none' } });
    expect(publicClient.body).toMatchObject({ token_endpoint_auth_method: 'none', client_secret_set: false });
    const confidential = await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { token_endpoint_auth_method: 'client_secret_basic' } });
    expect(confidential.body).toMatchObject({ client_secret_set: true, client_secret: expect.any(String) });
  });

  it('rotate secret → 200 with the new secret; the old one stops working', async () => {
    const { body: created } = await api('/clients', { body: { client_name: 'Rotated', grant_types: ['client_credentials'], resources: [ORDERS] } });
    const rotated = await api(`/clients/${created.client_id}/secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ client_id: created.client_id, client_secret: expect.any(String) });
    await expect(clientCredentialsToken(server, { clientId: created.client_id, clientSecret: created.client_secret }, { resource: ORDERS })).rejects.toThrow(/401/);
    await clientCredentialsToken(server, { clientId: created.client_id, clientSecret: rotated.body.client_secret }, { resource: ORDERS });
  });

  it('delete → 204, then 404; a stale If-Match on delete is 412 and deletes nothing', async () => {
    const { body: created, headers } = await api('/clients', { body: newWebClient() });
    await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { client_name: 'Renamed' } });
    const stale = await api(`/clients/${created.client_id}`, { method: 'DELETE', headers: { 'if-match': headers.get('etag')! } });
    expect(stale.status).toBe(412);
    const current = await api(`/clients/${created.client_id}`);
    const deleted = await api(`/clients/${created.client_id}`, { method: 'DELETE', headers: { 'if-match': current.headers.get('etag')! } });
    expect(deleted.status).toBe(204);
    expect((await api(`/clients/${created.client_id}`)).status).toBe(404);
  });

  it('takes an RFC 7591 registration payload as it is (pages for people and contacts included), serves the client to a sign-in, and patches those fields away with null', async () => {
    const registration = {
      client_name: 'Photo Album',
      redirect_uris: ['https://photos.example.test/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile',
      client_uri: 'https://photos.example.test/',
      logo_uri: 'https://photos.example.test/logo.png',
      tos_uri: 'https://photos.example.test/terms',
      policy_uri: 'https://photos.example.test/privacy',
      contacts: ['ops@photos.example.test'],
    };
    const created = await api('/clients', { body: registration });
    expect(created.status).toBe(201);
    const { client_id, client_secret: _secret, ...shown } = created.body;
    expect(shown).toMatchObject(registration);
    // oidc-provider takes the metadata: the authorization request reaches the sign-in page.
    const authorize = new URL('/auth', server.issuer);
    authorize.search = new URLSearchParams({ client_id, response_type: 'code', scope: 'openid', redirect_uri: registration.redirect_uris[0]!, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString();
    const toLogin = await fetch(authorize, { redirect: 'manual' });
    expect([toLogin.status, toLogin.headers.get('location')]).toEqual([303, expect.stringMatching(/^\/interaction\//)]);

    const patched = await api(`/clients/${client_id}`, { method: 'PATCH', headers: { 'if-match': created.headers.get('etag')! }, body: { logo_uri: null, contacts: null, tos_uri: 'https://photos.example.test/terms-2' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ client_uri: registration.client_uri, policy_uri: registration.policy_uri, tos_uri: 'https://photos.example.test/terms-2' });
    expect(patched.body).not.toHaveProperty('logo_uri');
    expect(patched.body).not.toHaveProperty('contacts');
  });

  it('records every change as an audit event whose actor is the token’s client_id', async () => {
    const { body: created } = await api('/clients', { body: newWebClient('Audited') });
    await api(`/clients/${created.client_id}`, { method: 'PATCH', body: { client_name: 'Audited 2' } });
    await api(`/clients/${created.client_id}/secret`, { method: 'POST' });
    await api(`/clients/${created.client_id}`, { method: 'DELETE' });
    // The server writes audit events in batches (about a second): wait for all four.
    const events = await until(async () => {
      const found = (await server.services.audit.list({ types: ['client.*'] })).filter((event) => event.subject === created.client_id);
      return found.length === 4 && found;
    }, { what: 'four client events' });
    expect(events.map((event) => event.type).sort()).toEqual(['client.created', 'client.deleted', 'client.secret_rotated', 'client.updated']);
    expect(new Set(events.map((event) => event.actor))).toEqual(new Set([ops.clientId]));
  });
});

describe('resources', () => {
  it('create → 201; get; patch scopes with If-Match; list', async () => {
    const created = await api('/resources', { body: { identifier: BILLING, scopes: ['invoices:read'], access_token_ttl: 600 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ identifier: BILLING, scopes: ['invoices:read'], access_token_ttl: 600, signing_alg: 'ES256' });
    expect(created.headers.get('location')).toBe(`/admin/v1/resources/${created.body.id}`);
    const read = await api(`/resources/${created.body.id}`);
    expect(read.body).toEqual(created.body);
    const patched = await api(`/resources/${created.body.id}`, { method: 'PATCH', headers: { 'if-match': read.headers.get('etag')! }, body: { scopes: ['invoices:read', 'invoices:write'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.scopes).toEqual(['invoices:read', 'invoices:write']);
    const stale = await api(`/resources/${created.body.id}`, { method: 'PATCH', headers: { 'if-match': read.headers.get('etag')! }, body: { access_token_ttl: 60 } });
    expect(stale.status).toBe(412);
    const list = await api('/resources?limit=200');
    expect(list.body.items.map((item: { identifier: string }) => item.identifier)).toEqual(expect.arrayContaining([BILLING, ORDERS, adminResourceIdentifier(server.issuer)]));
  });

  it('a duplicate identifier is 409 conflict', async () => {
    const again = await api('/resources', { body: { identifier: ORDERS, scopes: ['x'] } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
  });

  it('delete removes the identifier from every client, in the same transaction; the admin resource cannot be deleted', async () => {
    const identifier = 'https://shipping.example.test/api';
    const { body: resource } = await api('/resources', { body: { identifier, scopes: ['ship'] } });
    const { body: both } = await api('/clients', { body: { ...newWebClient('Both'), resources: [ORDERS, identifier] } });
    const { body: only } = await api('/clients', { body: { client_name: 'Only', grant_types: ['client_credentials'], resources: [identifier] } });
    expect((await api(`/resources/${resource.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/clients/${both.client_id}`)).body.resources).toEqual([ORDERS]);
    expect((await api(`/clients/${only.client_id}`)).body.resources).toEqual([]);
    expect((await api(`/resources/${resource.id}`)).status).toBe(404);

    const admin = await server.services.resources.findByIdentifier(adminResourceIdentifier(server.issuer));
    const refused = await api(`/resources/${admin!.id}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('conflict');
  });

  it('records resource changes with the token’s client_id as actor', async () => {
    const { body } = await api('/resources', { body: { identifier: 'https://audit.example.test/api', scopes: ['a'] } });
    await api(`/resources/${body.id}`, { method: 'PATCH', body: { signing_alg: 'RS256' } });
    await api(`/resources/${body.id}`, { method: 'DELETE' });
    const events = await until(async () => {
      const found = (await server.services.audit.list({ types: ['resource.*'] })).filter((event) => event.subject === body.identifier);
      return found.length === 3 && found;
    }, { what: 'three resource events' });
    expect(events.map((event) => event.type).sort()).toEqual(['resource.created', 'resource.deleted', 'resource.updated']);
    expect(events.every((event) => event.actor === ops.clientId)).toBe(true);
  });
});

describe('pagination', () => {
  it('walks every client across page boundaries with inserts in between: no duplicates, no gaps', async () => {
    for (let i = 0; i < 7; i += 1) await api('/clients', { body: { client_name: `Paged ${i}`, grant_types: ['client_credentials'], resources: [ORDERS] } });
    const before = new Set((await api('/clients?limit=200')).body.items.map((item: { client_id: string }) => item.client_id));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: AdminResponse = await api(`/clients?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((item: { client_id: string }) => item.client_id));
      cursor = page.body.next_cursor;
      pages += 1;
      // Inserts between pages: ids are random, so some sort before the cursor and some after.
      if (pages <= 3) for (let i = 0; i < 2; i += 1) await api('/clients', { body: { client_name: `Inserted ${pages}.${i}`, grant_types: ['client_credentials'], resources: [ORDERS] } });
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    expect([...seen]).toEqual([...seen].sort());
  });
});

describe('refusals', () => {
  let readOnly: string;
  let otherAudience: string;
  let expired: string;
  let existing: { client_id: string; etag: string };

  beforeAll(async () => {
    readOnly = await adminToken(server, ['clients:read']);
    const other = 'https://other.example.test/api';
    await server.services.resources.create({ identifier: other, scopes: ['clients:read', 'clients:write'] });
    const otherClient = await server.services.clients.create({ name: 'Other', grantTypes: ['client_credentials'], resources: [other] });
    otherAudience = await clientCredentialsToken(server, { clientId: otherClient.client.clientId, clientSecret: otherClient.clientSecret! }, { resource: other });
    expired = await expiredAdminToken();
    const { body, headers } = await api('/clients', { body: newWebClient('Refusals') });
    await api(`/clients/${body.client_id}`, { method: 'PATCH', body: { client_name: 'Refusals 2' } });
    existing = { client_id: body.client_id, etag: headers.get('etag')! };
  });

  /** A token Latchkey's own key signed, for the admin audience, that expired a minute ago. */
  async function expiredAdminToken(): Promise<string> {
    const keys = createKeys(server.config, server.database.db);
    await keys.service.reload();
    const jwk = (await keys.service.signingJwks()).keys.find((key) => key.alg === 'ES256') as JWK;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'clients:read clients:write', client_id: ops.clientId })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid! })
      .setIssuer(server.issuer)
      .setAudience(adminResourceIdentifier(server.issuer))
      .setSubject(ops.clientId)
      .setIssuedAt(now - 960)
      .setExpirationTime(now - 60)
      .setJti('expired')
      .sign(await importJWK(jwk, 'ES256'));
  }

  const cases: readonly { name: string; request: () => Promise<AdminResponse>; status: number; code: string; field?: string; challenge?: RegExp }[] = [
    { name: 'no token', request: () => adminCall(server, '/clients'), status: 401, code: 'invalid_token', challenge: /^Bearer realm="latchkey-admin"$/ },
    { name: 'a token that is not a JWT', request: () => api('/clients', { token: 'not-a-token' }), status: 401, code: 'invalid_token', challenge: /error="invalid_token"/ },
    { name: 'an expired token', request: () => api('/clients', { token: expired }), status: 401, code: 'invalid_token', challenge: /error="invalid_token", error_description="the access token has expired"/ },
    { name: 'a token for another audience', request: () => api('/clients', { token: otherAudience }), status: 401, code: 'invalid_token', challenge: /error="invalid_token", error_description="the access token is meant for another resource"/ },
    { name: 'a read token on a write route', request: () => api('/clients', { token: readOnly, body: newWebClient() }), status: 403, code: 'insufficient_scope', challenge: /error="insufficient_scope", .*scope="clients:write"/ },
    { name: 'a clients token on resources', request: () => api('/resources', { token: readOnly }), status: 403, code: 'insufficient_scope', challenge: /scope="resources:read"/ },
    { name: 'a stale If-Match on PATCH', request: () => api(`/clients/${existing.client_id}`, { method: 'PATCH', headers: { 'if-match': existing.etag }, body: { client_name: 'x' } }), status: 412, code: 'precondition_failed' },
    { name: 'a weak If-Match', request: () => api(`/clients/${existing.client_id}`, { method: 'PATCH', headers: { 'if-match': `W/${existing.etag}` }, body: { client_name: 'x' } }), status: 412, code: 'precondition_failed' },
    { name: 'an unknown client', request: () => api('/clients/lk_nope'), status: 404, code: 'not_found' },
    { name: 'an unknown client on PATCH', request: () => api('/clients/lk_nope', { method: 'PATCH', body: { client_name: 'x' } }), status: 404, code: 'not_found' },
    { name: 'an unknown resource', request: () => api('/resources/00000000-0000-0000-0000-000000000000'), status: 404, code: 'not_found' },
    { name: 'an empty client_name', request: () => api('/clients', { body: { ...newWebClient(), client_name: '' } }), status: 400, code: 'invalid_body', field: 'client_name' },
    { name: 'a missing client_name', request: () => api('/clients', { body: { grant_types: ['client_credentials'] } }), status: 400, code: 'invalid_body', field: 'client_name' },
    { name: 'a redirect URI that is no URI', request: () => api('/clients', { body: { ...newWebClient(), redirect_uris: ['https://ok.example.test/cb', 'not a uri'] } }), status: 400, code: 'invalid_body', field: 'redirect_uris[1]' },
    { name: 'a redirect URI with a fragment', request: () => api('/clients', { body: { ...newWebClient(), redirect_uris: ['https://app.example.test/cb#x'] } }), status: 400, code: 'invalid_body', field: 'redirect_uris[0]' },
    { name: 'an unknown grant type', request: () => api('/clients', { body: { ...newWebClient(), grant_types: ['password'] } }), status: 400, code: 'invalid_body', field: 'grant_types[0]' },
    { name: 'an unregistered resource', request: () => api('/clients', { body: { ...newWebClient(), resources: [ORDERS, 'https://nowhere.example.test/'] } }), status: 400, code: 'invalid_body', field: 'resources[1]' },
    { name: 'a logo_uri that is not http(s)', request: () => api('/clients', { body: { ...newWebClient(), logo_uri: 'javascript:alert(1)' } }), status: 400, code: 'invalid_body', field: 'logo_uri' },
    { name: 'a contact that is no address', request: () => api('/clients', { body: { ...newWebClient(), contacts: ['ops@example.test', 'nobody'] } }), status: 400, code: 'invalid_body', field: 'contacts[1]' },
    { name: 'an unknown field', request: () => api('/clients', { body: { ...newWebClient(), colour: 'blue' } }), status: 400, code: 'invalid_body', field: 'colour' },
    { name: 'a body that is not JSON', request: () => api('/clients', { rawBody: '{"client_name":' }), status: 400, code: 'invalid_body' },
    { name: 'an empty patch', request: () => api(`/clients/${existing.client_id}`, { method: 'PATCH', body: {} }), status: 400, code: 'invalid_body' },
    { name: 'a resource without scopes', request: () => api('/resources', { body: { identifier: 'https://x.example.test/', scopes: [] } }), status: 400, code: 'invalid_body', field: 'scopes' },
    { name: 'a resource TTL of 0', request: () => api('/resources', { body: { identifier: 'https://x.example.test/', scopes: ['a'], access_token_ttl: 0 } }), status: 400, code: 'invalid_body', field: 'access_token_ttl' },
    { name: 'changing a resource’s identifier', request: () => api('/resources', { method: 'GET' }).then(({ body }) => api(`/resources/${body.items[0].id}`, { method: 'PATCH', body: { identifier: 'https://y.example.test/' } })), status: 400, code: 'invalid_body', field: 'identifier' },
    { name: 'a form body', request: () => api('/clients', { rawBody: 'client_name=x', contentType: 'application/x-www-form-urlencoded' }), status: 415, code: 'unsupported_media_type' },
    { name: 'a merge patch posted as text', request: () => api(`/clients/${existing.client_id}`, { method: 'PATCH', rawBody: '{}', contentType: 'text/plain' }), status: 415, code: 'unsupported_media_type' },
    { name: 'limit 0', request: () => api('/clients?limit=0'), status: 400, code: 'invalid_query', field: 'limit' },
    { name: 'limit 201', request: () => api('/clients?limit=201'), status: 400, code: 'invalid_query', field: 'limit' },
    { name: 'a cursor nobody handed out', request: () => api('/clients?cursor=bm9wZQ'), status: 400, code: 'invalid_query', field: 'cursor' },
    { name: 'an unknown query parameter', request: () => api('/clients?colour=blue'), status: 400, code: 'invalid_query', field: 'colour' },
  ];

  for (const { name, request, status, code, field, challenge } of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const response = await request();
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: `urn:latchkey:problem:${code}`, status, code, title: expect.any(String), detail: expect.any(String) });
      if (field !== undefined) expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
      if (challenge) expect(response.headers.get('www-authenticate')).toMatch(challenge);
      expect(JSON.stringify(response.body)).not.toMatch(/\bat .*\.ts:\d+/);
    });
  }
});
