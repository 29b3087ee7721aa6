// Dynamic client registration (RFC 7591) and its management (RFC 7592), per
// LATCHKEY_REGISTRATION mode: off (no endpoint, nothing in discovery),
// initial-access-token (a token from `latchkey registration token create`,
// good once and until it expires) and open. openid-client v6 registers
// (dynamicClientRegistration) and the registered client then signs a person
// in with code + PKCE; plain fetch reads, changes and deletes it with its
// registration access token. Refused metadata gets RFC 7591's exact codes.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as oidc from 'openid-client';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createRelyingParty, signInAndAllow } from '../helpers/rp.ts';

const REDIRECT_URI = 'https://app.example.test/callback';
const USER = { email: 'registration@example.test', password: 'correct horse battery staple' };

let off: TestServer;
let gated: TestServer;
let open: TestServer;
let production: TestServer;

const productionLog: string[] = [];
const insecure = { execute: [oidc.allowInsecureRequests] };

async function discovery(server: TestServer): Promise<Record<string, unknown>> {
  return (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
}

async function post(server: TestServer, body: unknown, token?: string, from?: string) {
  const response = await fetch(`${server.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }), ...(from !== undefined && { 'x-forwarded-for': from }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json().catch(() => undefined)) as Record<string, unknown> };
}

async function manage(uri: string, method: 'GET' | 'PUT' | 'DELETE', token: string, body?: unknown) {
  const response = await fetch(uri, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined };
}

async function cliToken(server: TestServer, args: readonly string[] = []) {
  const result = await runCli(['registration', 'token', 'create', ...args, '--json'], { env: { DATABASE_URL: server.database.url, ISSUER: server.issuer } });
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout) as { token: string; initialAccessToken: { id: string; status: string } };
}

/** The registered client signs a person in: code + PKCE through the login and consent pages, then the code exchanged. */
async function codeFlow(server: TestServer, clientId: string, clientSecret?: string) {
  const rp = await createRelyingParty({ issuer: server.issuer, clientId, ...(clientSecret !== undefined && { clientSecret }), redirectUri: REDIRECT_URI });
  const { request, callback } = await signInAndAllow(rp, USER);
  return rp.exchange(callback, request);
}

beforeAll(async () => {
  [off, gated, open, production] = await Promise.all([
    startTestServer(),
    startTestServer({ env: { LATCHKEY_REGISTRATION: 'initial-access-token' } }),
    startTestServer({ env: { LATCHKEY_REGISTRATION: 'open' } }),
    startTestServer({
      env: { LATCHKEY_REGISTRATION: 'open', NODE_ENV: 'production', LATCHKEY_PASSWORD_RESET: 'false', LATCHKEY_TRUST_PROXY: 'true', LOG_LEVEL: 'warn' },
      logTo: { write: (line: string) => void productionLog.push(line) },
    }),
  ]);
  await Promise.all([gated.services.accounts.create(USER), open.services.accounts.create(USER)]);
});

afterAll(async () => {
  await Promise.all([off?.stop(), gated?.stop(), open?.stop(), production?.stop()]);
});

describe('LATCHKEY_REGISTRATION=off (the default)', () => {
  it('has no registration endpoint and does not advertise one', async () => {
    expect(off.config.registration).toBe('off');
    expect(await discovery(off)).not.toHaveProperty('registration_endpoint');
    const response = await post(off, { redirect_uris: [REDIRECT_URI] });
    expect(response.status).toBe(404);
  });
});

describe('LATCHKEY_REGISTRATION=initial-access-token', () => {
  it('advertises the registration endpoint', async () => {
    expect((await discovery(gated)).registration_endpoint).toBe(`${gated.issuer}/reg`);
  });

  it('refuses a registration without a token, or with one it never made: 401 invalid_token', async () => {
    for (const token of [undefined, 'not-a-token-latchkey-made']) {
      const response = await post(gated, { client_name: 'Nobody', redirect_uris: [REDIRECT_URI] }, token);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('invalid_token');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it('registers with a CLI-made token through openid-client, and the client signs a person in with code + PKCE', async () => {
    const { token, initialAccessToken } = await cliToken(gated, ['--expires-in', '600']);
    expect(initialAccessToken).toMatchObject({ id: expect.stringMatching(/^iat_/), status: 'active' });
    const config = await oidc.dynamicClientRegistration(new URL(gated.issuer), { client_name: 'Registered app', redirect_uris: [REDIRECT_URI] }, undefined, { initialAccessToken: token, ...insecure });
    const metadata = config.clientMetadata();
    expect(metadata).toMatchObject({
      client_name: 'Registered app',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret_expires_at: 0,
      registration_client_uri: `${gated.issuer}/reg/${config.clientMetadata().client_id}`,
    });
    expect(metadata.client_id).toMatch(/^lk_/);
    expect(metadata.client_secret).toEqual(expect.any(String));
    expect(metadata.registration_access_token).toEqual(expect.any(String));

    const tokens = await codeFlow(gated, metadata.client_id, metadata.client_secret as string);
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.claims()?.aud).toBe(metadata.client_id);

    // Stored like any client: the secret only as its digest; the tokens nowhere in clear.
    const row = await gated.database.db.prisma.client.findUniqueOrThrow({ where: { id: metadata.client_id } });
    expect(row.secretHash).not.toBe(metadata.client_secret);
    const artifacts = JSON.stringify(await gated.database.db.prisma.oidcArtifact.findMany({ where: { model: { in: ['InitialAccessToken', 'RegistrationAccessToken'] } } }));
    expect(artifacts).not.toContain(token);
    expect(artifacts).not.toContain(metadata.registration_access_token as string);

    // The token worked once; the CLI lists it as used, and the event names it, not the token.
    const reused = await post(gated, { client_name: 'Again', redirect_uris: [REDIRECT_URI] }, token);
    expect(reused.status).toBe(401);
    expect(reused.body.error).toBe('invalid_token');
    const list = await runCli(['registration', 'token', 'list', '--json'], { env: { DATABASE_URL: gated.database.url, ISSUER: gated.issuer } });
    const listed = (JSON.parse(list.stdout) as { initialAccessTokens: { id: string; status: string }[] }).initialAccessTokens;
    expect(listed.find((t) => t.id === initialAccessToken.id)?.status).toBe('used');
  });

  it('keeps a token after a refused registration, so the request can be fixed and sent again', async () => {
    const { token } = await cliToken(gated);
    const refused = await post(gated, { client_name: 'Typo', redirect_uris: ['https://app.example.test/cb#fragment'] }, token);
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_redirect_uri' } });
    const fixed = await post(gated, { client_name: 'Typo', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }, token);
    expect(fixed.status).toBe(201);
    expect(fixed.body).not.toHaveProperty('client_secret');
  });

  it('refuses an expired token, and one revoked by the CLI', async () => {
    const expiring = await gated.services.registrationTokens.createInitial(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const expired = await post(gated, { client_name: 'Late', redirect_uris: [REDIRECT_URI] }, expiring.token);
    expect(expired).toMatchObject({ status: 401, body: { error: 'invalid_token' } });

    const { token, initialAccessToken } = await cliToken(gated);
    const revoke = await runCli(['registration', 'token', 'revoke', initialAccessToken.id, '--json'], { env: { DATABASE_URL: gated.database.url, ISSUER: gated.issuer } });
    expect(revoke, revoke.stderr).toMatchObject({ code: 0 });
    const revoked = await post(gated, { client_name: 'Revoked', redirect_uris: [REDIRECT_URI] }, token);
    expect(revoked).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('the CLI refuses a lifetime out of range as a usage error (exit 2), and names the group in its help', async () => {
    for (const seconds of ['0', '31536001', 'soon']) {
      const result = await runCli(['registration', 'token', 'create', '--expires-in', seconds, '--json'], { env: { DATABASE_URL: gated.database.url, ISSUER: gated.issuer } });
      expect(result.code, seconds).toBe(2);
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'usage_error' } });
    }
    const help = await runCli(['help', 'registration']);
    expect(help.stdout).toContain('latchkey registration token create [--expires-in SECONDS]');
  });

  it('a client deleted by `latchkey client delete` takes its registration access token with it', async () => {
    const { token } = await cliToken(gated);
    const made = await post(gated, { client_name: 'Short-lived', redirect_uris: [REDIRECT_URI] }, token);
    expect(made.status).toBe(201);
    const removed = await runCli(['client', 'delete', made.body.client_id as string, '--json'], { env: { DATABASE_URL: gated.database.url, ISSUER: gated.issuer } });
    expect(removed, removed.stderr).toMatchObject({ code: 0 });
    const read = await manage(made.body.registration_client_uri as string, 'GET', made.body.registration_access_token as string);
    expect(read).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('records client.registered naming the initial access token, never a token', async () => {
    const events = await vi.waitFor(async () => {
      const rows = await gated.database.db.prisma.auditEvent.findMany({ where: { type: { in: ['client.registered', 'registration_token.created', 'registration_token.revoked'] } } });
      expect(rows.map((e) => e.type)).toEqual(expect.arrayContaining(['client.registered', 'registration_token.created', 'registration_token.revoked']));
      return rows;
    }, { timeout: 5000 });
    const registered = events.find((e) => e.type === 'client.registered')!;
    expect(registered.actor).toMatch(/^iat_/);
  });
});

describe('one initial access token, ten registrations at once', () => {
  // The token is checked before the client is made and used up after, so
  // parallel registrations all pass the check; the conditional consume must
  // let exactly one keep its client, on both dialects (the others' clients
  // are removed again). A server of its own: the ten stay within the
  // per-address registration budget.
  let racing: TestServer;
  beforeAll(async () => {
    racing = await startTestServer({ env: { LATCHKEY_REGISTRATION: 'initial-access-token' } });
  });
  afterAll(async () => {
    await racing?.stop();
  });

  it('registers exactly one client; the nine others get 401 invalid_token and leave no client behind', async () => {
    const { token } = await racing.services.registrationTokens.createInitial(600);
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => post(racing, { client_name: `Racer ${i}`, redirect_uris: [REDIRECT_URI] }, token)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 401, 401, 401, 401, 401, 401, 401, 401, 401]);
    for (const refused of responses.filter((r) => r.status === 401)) expect(refused.body.error).toBe('invalid_token');
    const winner = responses.find((r) => r.status === 201)!;
    const clients = await racing.services.clients.list();
    expect(clients.map((c) => c.clientId)).toEqual([winner.body.client_id]);
    expect((await racing.services.registrationTokens.listInitial()).map((t) => t.status)).toEqual(['used']);
  });
});

describe('LATCHKEY_REGISTRATION=open, and RFC 7592 management', () => {
  let registered: Record<string, unknown> & { client_id: string; registration_client_uri: string; registration_access_token: string };

  beforeAll(async () => {
    const config = await oidc.dynamicClientRegistration(new URL(open.issuer), { client_name: 'Open app', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }, oidc.None(), insecure);
    registered = config.clientMetadata() as typeof registered;
  });

  it('registers without a token; a public client gets no secret and signs a person in with code + PKCE', async () => {
    expect(registered).toMatchObject({ token_endpoint_auth_method: 'none', registration_client_uri: `${open.issuer}/reg/${registered.client_id}` });
    expect(registered).not.toHaveProperty('client_secret');
    const tokens = await codeFlow(open, registered.client_id);
    expect(tokens.access_token).toEqual(expect.any(String));
  });

  it('reads the registration with its registration access token (GET)', async () => {
    const read = await manage(registered.registration_client_uri, 'GET', registered.registration_access_token);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ client_id: registered.client_id, client_name: 'Open app', redirect_uris: [REDIRECT_URI] });
    expect(read.body).not.toHaveProperty('registration_access_token');
    expect(read.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a wrong, another client\'s, or missing registration access token: 401 invalid_token', async () => {
    const other = await post(open, { client_name: 'Other', redirect_uris: [REDIRECT_URI] });
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      for (const token of ['wrong', other.body.registration_access_token as string]) {
        const response = await manage(registered.registration_client_uri, method, token, method === 'PUT' ? { client_name: 'Hijacked', redirect_uris: [REDIRECT_URI] } : undefined);
        expect(response.status, `${method} ${token}`).toBe(401);
        expect(response.body?.error).toBe('invalid_token');
      }
    }
    const bare = await fetch(registered.registration_client_uri);
    expect(bare.status).toBe(401);
    const malformed = await fetch(`${open.issuer}/reg/%E0%A4%A`, { headers: { authorization: `Bearer ${registered.registration_access_token}` } });
    expect(malformed.status).toBe(401);
    expect((await open.services.clients.get(registered.client_id)).name).toBe('Open app');
  });

  it('changes the registration through the same rules (PUT), refusing what client create refuses', async () => {
    const bad = await manage(registered.registration_client_uri, 'PUT', registered.registration_access_token, { client_id: registered.client_id, redirect_uris: ['https://app.example.test/cb#x'] });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_redirect_uri' } });
    const changed = await manage(registered.registration_client_uri, 'PUT', registered.registration_access_token, {
      client_id: registered.client_id,
      client_name: 'Open app 2',
      redirect_uris: [REDIRECT_URI, 'https://app.example.test/cb2'],
      token_endpoint_auth_method: 'none',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ client_name: 'Open app 2', redirect_uris: [REDIRECT_URI, 'https://app.example.test/cb2'] });
    expect((await open.services.clients.get(registered.client_id)).redirectUris).toEqual([REDIRECT_URI, 'https://app.example.test/cb2']);
  });

  it('deletes the client (DELETE); the token then opens nothing', async () => {
    const deleted = await manage(registered.registration_client_uri, 'DELETE', registered.registration_access_token);
    expect(deleted.status).toBe(204);
    await expect(open.services.clients.get(registered.client_id)).rejects.toMatchObject({ code: 'not_found' });
    const again = await manage(registered.registration_client_uri, 'GET', registered.registration_access_token);
    expect(again.status).toBe(401);
    // The server writes audit rows in batches (every second).
    const events = await vi.waitFor(async () => {
      const rows = await open.database.db.prisma.auditEvent.findMany({ where: { clientId: registered.client_id } });
      expect(rows.map((e) => e.type)).toEqual(expect.arrayContaining(['client.registered', 'client.updated', 'client.deleted']));
      return rows;
    }, { timeout: 5000 });
    expect(JSON.stringify(events)).not.toContain(registered.registration_access_token);
  });
});

describe('refused metadata (production-like configuration)', () => {
  it('warns at start that open registration in production lets anyone register', () => {
    expect(productionLog.some((line) => line.includes('LATCHKEY_REGISTRATION=open in production'))).toBe(true);
  });

  const cases: readonly [string, Record<string, unknown>, 'invalid_redirect_uri' | 'invalid_client_metadata'][] = [
    ['a fragment in a redirect URI', { redirect_uris: ['https://app.example.test/cb#frag'] }, 'invalid_redirect_uri'],
    ['a relative redirect URI', { redirect_uris: ['/callback'] }, 'invalid_redirect_uri'],
    ['an http redirect URI in production', { redirect_uris: ['http://app.example.test/callback'] }, 'invalid_redirect_uri'],
    ['no redirect URI for the code grant', { grant_types: ['authorization_code'] }, 'invalid_redirect_uri'],
    ['an unknown grant type', { redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'password'] }, 'invalid_client_metadata'],
    ['the implicit grant', { redirect_uris: [REDIRECT_URI], grant_types: ['implicit'] }, 'invalid_client_metadata'],
    ['client_credentials (operators only)', { grant_types: ['client_credentials'], scope: 'x:read' }, 'invalid_client_metadata'],
    ['token exchange (operators only)', { grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:token-exchange'], redirect_uris: ['https://app.example.test/cb'] }, 'invalid_client_metadata'],
    ['API resources (operators only)', { redirect_uris: [REDIRECT_URI], resources: ['https://api.example.test'] }, 'invalid_client_metadata'],
    ['an unknown auth method', { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata'],
    ['a response type other than code', { redirect_uris: [REDIRECT_URI], response_types: ['token'] }, 'invalid_client_metadata'],
    ['redirect_uris not a list', { redirect_uris: REDIRECT_URI }, 'invalid_redirect_uri'],
    ['a client_name that is no string', { redirect_uris: [REDIRECT_URI], client_name: 42 }, 'invalid_client_metadata'],
    ['a PAR requirement without the code grant', { grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], require_pushed_authorization_requests: true }, 'invalid_client_metadata'],
  ];

  // Each case from its own address (the server trusts X-Forwarded-For), so the table stays under the per-address budget.
  cases.forEach(([name, metadata, error], index) => {
    it(`${name} → 400 ${error}`, async () => {
      const response = await post(production, { client_name: 'Refused', token_endpoint_auth_method: 'none', ...metadata }, undefined, `198.51.100.${index + 1}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error, error_description: expect.any(String) });
    });
  });

  it('throttles registrations per address: past the budget, 429 with Retry-After and nothing stored', async () => {
    let response: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 12; i++) {
      response = await post(production, { client_name: `Flood ${i}`, redirect_uris: [REDIRECT_URI] }, undefined, '203.0.113.7');
      if (response.status === 429) break;
    }
    expect(response?.status).toBe(429);
    expect(response?.body.error).toBe('too_many_requests');
    expect(Number(response?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await production.services.clients.list()).toHaveLength(10);
    // Another address is served meanwhile.
    expect((await post(production, { client_name: 'Neighbour', redirect_uris: [REDIRECT_URI] }, undefined, '203.0.113.8')).status).toBe(201);
  });
});
