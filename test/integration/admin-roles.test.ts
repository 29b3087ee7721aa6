// Roles bound the admin scopes a person can get: through the console's own
// client (latchkey-admin, authorization code + PKCE, no consent page) an
// admin gets all nine scopes of <issuer>/admin, a viewer the `:read` ones,
// anyone else none; the sign-in after a role change follows the new role; a
// service's client-credentials token is bounded by its client only. The
// role is set with `latchkey user set-role` (audited) or the service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPES } from '../../src/oidc/role-scopes.ts';
import { adminCall, clientCredentialsToken, createAdminClient } from '../helpers/admin.ts';
import { adminClientTokens, adminScopesOf, createPerson, ensureAdminResource } from '../helpers/admin-console.ts';
import { runCli } from '../helpers/cli.ts';
import { expectRedirect } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const READ_SCOPES = ADMIN_SCOPES.filter((scope) => scope.endsWith(':read'));

let server: TestServer;
let adminResource: string;

beforeAll(async () => {
  server = await startTestServer();
  adminResource = await ensureAdminResource(server);
  await createPerson(server, 'admin@example.test', 'admin');
  await createPerson(server, 'viewer@example.test', 'viewer');
  await createPerson(server, 'nobody@example.test', 'none');
});

afterAll(async () => {
  await server?.stop();
});

describe('the admin scopes a person gets, by role', () => {
  it.each([
    { role: 'admin', email: 'admin@example.test', scopes: [...ADMIN_SCOPES] },
    { role: 'viewer', email: 'viewer@example.test', scopes: READ_SCOPES },
    { role: 'none', email: 'nobody@example.test', scopes: [] },
  ])('$role: $scopes', async ({ email, scopes }) => {
    const { tokens } = await adminClientTokens(server, email);
    expect(adminScopesOf(tokens.access_token, server.issuer).sort()).toEqual([...scopes].sort());
    expect(tokens.id_token, 'an ID token: the console knows who signed in').toEqual(expect.any(String));
  });

  it('the next sign-in follows the role as it is now: an admin made viewer gets only the read scopes', async () => {
    const person = await createPerson(server, 'demoted@example.test', 'admin');
    const { tokens } = await adminClientTokens(server, person.email);
    expect(adminScopesOf(tokens.access_token, server.issuer)).toHaveLength(ADMIN_SCOPES.length);
    expect(tokens.refresh_token, 'the console client gets no refresh token').toBeUndefined();
    await server.services.accounts.setRole(person.id, 'viewer');
    const again = await adminClientTokens(server, person.email);
    expect(adminScopesOf(again.tokens.access_token, server.issuer).sort()).toEqual([...READ_SCOPES].sort());
  });

  it('the same browser signing in again (its Latchkey session still on) gets what the role allows now, under the same grant', async () => {
    const person = await createPerson(server, 'same-browser@example.test', 'viewer');
    const { rp, tokens } = await adminClientTokens(server, person.email);
    expect(adminScopesOf(tokens.access_token, server.issuer).sort()).toEqual([...READ_SCOPES].sort());
    await server.services.accounts.setRole(person.id, 'admin');
    const promote = async () => {
      const request = await rp.authorizationRequest({ scope: `openid ${ADMIN_SCOPES.join(' ')}`, resource: adminResource });
      // No login page: the session answers at once.
      const callback = expectRedirect(await rp.browser.open(request.url));
      return rp.exchange(callback, request);
    };
    const promoted = await promote();
    expect(adminScopesOf(promoted.access_token, server.issuer).sort()).toEqual([...ADMIN_SCOPES].sort());
    await server.services.accounts.setRole(person.id, 'none');
    const removed = await promote();
    expect(adminScopesOf(removed.access_token, server.issuer)).toEqual([]);
    // One grant for the browser, its scopes set again at each sign-in.
    const grantOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { grant_id?: string }).grant_id;
    expect(grantOf(tokens.access_token)).toEqual(expect.any(String));
    expect(grantOf(promoted.access_token)).toBe(grantOf(tokens.access_token));
  });

  it('a client-credentials token is bounded by its client, not by any role', async () => {
    const { client, clientSecret } = await server.services.clients.create({ name: 'ops', grantTypes: ['client_credentials'], resources: [adminResource], scope: 'clients:read clients:write' });
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: adminResource }),
    });
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(adminScopesOf(access_token, server.issuer).sort()).toEqual(['clients:read', 'clients:write']);
  });
});

describe('a token whose caller no longer stands where it says', () => {
  // Each token below is still valid (signature, audience, expiry, scope): only
  // the database knows its client or person changed since it was issued.
  const call = (token: string, path = '/users?limit=1', method = 'GET') => adminCall(server, path, { token, method });

  it('an administrator disabled, demoted or deleted loses the access at the next request, not when the token expires', async () => {
    const cases = [
      { change: (id: string) => server.services.accounts.disable(id), status: 401, code: 'invalid_token', detail: 'The account this token was issued for is disabled.' },
      { change: (id: string) => server.services.accounts.setRole(id, 'none'), status: 403, code: 'insufficient_scope', detail: "The account's role no longer allows users:read." },
      { change: (id: string) => server.services.accounts.delete(id), status: 401, code: 'invalid_token', detail: 'The account this token was issued for no longer exists.' },
    ];
    for (const [index, { change, status, code, detail }] of cases.entries()) {
      const person = await createPerson(server, `outstood-${index}@example.test`, 'admin');
      const { tokens } = await adminClientTokens(server, person.email);
      expect((await call(tokens.access_token)).status).toBe(200);
      await change(person.id);
      const refused = await call(tokens.access_token);
      expect({ status: refused.status, code: refused.body.code, detail: refused.body.detail }).toEqual({ status, code, detail });
      expect(refused.headers.get('www-authenticate')).toContain(`error="${code}"`);
    }
  });

  it('an administrator made viewer keeps reading but can no longer write with a token from before', async () => {
    const person = await createPerson(server, 'half-demoted@example.test', 'admin');
    const { tokens } = await adminClientTokens(server, person.email);
    await server.services.accounts.setRole(person.id, 'viewer');
    expect((await call(tokens.access_token)).status).toBe(200);
    const write = await adminCall(server, `/users/${person.id}`, { token: tokens.access_token, method: 'PATCH', body: { name: 'Renamed' } });
    expect({ status: write.status, code: write.body.code }).toEqual({ status: 403, code: 'insufficient_scope' });
  });

  it("a deleted automation client's token stops working at once", async () => {
    const client = await createAdminClient(server, ['clients:read'], 'retired ops');
    const access_token = await clientCredentialsToken(server, client);
    expect((await call(access_token, '/clients?limit=1')).status).toBe(200);
    await server.services.clients.delete(client.clientId);
    const refused = await call(access_token, '/clients?limit=1');
    expect({ status: refused.status, code: refused.body.code, detail: refused.body.detail }).toEqual({ status: 401, code: 'invalid_token', detail: 'The client this token was issued to no longer exists.' });
  });
});

describe('latchkey user set-role', () => {
  const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: server.database.url } });

  it('sets the role, records it in the audit log, and the next sign-in gets its scopes', async () => {
    await createPerson(server, 'promoted@example.test', 'none');
    const result = await cli(['user', 'set-role', 'promoted@example.test', 'viewer', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { user } = JSON.parse(result.stdout) as { user: { id: string; role: string } };
    expect(user.role).toBe('viewer');

    const events = await server.services.audit.list({ types: ['user.role_changed'], limit: 10 });
    expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'user.role_changed', actor: 'cli', subject: user.id, details: { role: 'viewer', previous: 'none' } })]));

    const { tokens } = await adminClientTokens(server, 'promoted@example.test');
    expect(adminScopesOf(tokens.access_token, server.issuer).sort()).toEqual([...READ_SCOPES].sort());
  });

  it.each([
    { label: 'an unknown role', args: ['user', 'set-role', 'admin@example.test', 'root', '--json'], exit: 2, code: 'usage_error' },
    { label: 'a missing role', args: ['user', 'set-role', 'admin@example.test', '--json'], exit: 2, code: 'usage_error' },
    { label: 'an unknown person', args: ['user', 'set-role', 'ghost@example.test', 'admin', '--json'], exit: 1, code: 'not_found' },
  ])('refuses $label', async ({ args, exit, code }) => {
    const result = await cli(args);
    expect(result.code).toBe(exit);
    expect(JSON.parse(result.stdout || result.stderr)).toMatchObject({ error: { code } });
  });
});

