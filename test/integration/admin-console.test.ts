// The admin console over HTTP, as a browser without JavaScript uses it: /admin
// sends a stranger through Latchkey's own sign-in (code + PKCE as
// latchkey-admin, no consent page), the pages render from the Admin API
// with the person's token, a viewer is offered no write, a write forged by
// a viewer comes back as the API's 403 as a readable page, and a form
// without the session's form token is refused before it reaches the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_CLIENT_ID } from '../../src/oidc/admin-client.ts';
import { until } from '../helpers/admin.ts';
import { consoleSignIn, createPerson, ensureAdminResource, formTokenOf, submitForm } from '../helpers/admin-console.ts';
import { expectPage, heading, parseForms, UserAgent } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await ensureAdminResource(server);
  await createPerson(server, 'admin@example.test', 'admin');
  await createPerson(server, 'viewer@example.test', 'viewer');
  await createPerson(server, 'nobody@example.test', 'none');
  await server.services.clients.create({ name: 'Existing app', redirectUris: ['https://app.example.test/cb'] });
});

afterAll(async () => {
  await server?.stop();
});

const writeForms = (html: string) => parseForms(html).filter((form) => form.method === 'post' && form.action !== '/admin/logout');

describe('signing in to the console', () => {
  it('sends a browser without a session to sign in with code + PKCE as latchkey-admin, keeping its request in a sealed cookie', async () => {
    const first = await fetch(`${server.issuer}/admin/clients`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/admin/login?return=%2Fadmin%2Fclients');

    const start = await fetch(`${server.issuer}/admin/login?return=%2Fadmin%2Fclients`, { redirect: 'manual' });
    expect(start.status).toBe(303);
    const authorization = new URL(start.headers.get('location')!);
    expect(authorization.origin + authorization.pathname).toBe(`${server.issuer}/auth`);
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({
      client_id: ADMIN_CLIENT_ID,
      response_type: 'code',
      code_challenge_method: 'S256',
      redirect_uri: `${server.issuer}/admin/callback`,
      resource: `${server.issuer}/admin`,
    });
    for (const name of ['state', 'nonce', 'code_challenge']) expect(authorization.searchParams.get(name)).toMatch(/^[\w-]{43}$/);
    const [cookie] = start.headers.getSetCookie();
    expect(cookie).toMatch(/^latchkey\.console_signin=v1\./);
    expect(cookie).toMatch(/path=\/admin/);
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    // Sealed: nothing of the request is readable in it.
    expect(cookie).not.toContain(authorization.searchParams.get('state')!);
  });

  it('brings an admin back to the page asked for, signed in', async () => {
    const { page } = await consoleSignIn(server, 'admin@example.test', '/admin/clients');
    expect(page.url.pathname).toBe('/admin/clients');
    expect(page.status).toBe(200);
    expect(heading(page)).toBe('Clients');
    expect(page.html).toContain('Existing app');
    expect(page.html).toContain('href="/admin/clients/new"');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('signs out: the console session ends and the browser is handed to Latchkey\'s own sign-out', async () => {
    const { agent, page } = await consoleSignIn(server, 'admin@example.test');
    const out = await submitForm(agent, page, '/admin/logout');
    expect(out.url.pathname).toBe('/session/end');
    expect(agent.jar.names()).not.toContain('latchkey.console');
    const again = await fetch(`${server.issuer}/admin`, { redirect: 'manual', headers: { cookie: agent.jar.header(new URL(`${server.issuer}/admin`)) } });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toMatch(/^\/admin\/login/);
  });

  it('refuses a callback this browser did not start', async () => {
    const response = await fetch(`${server.issuer}/admin/callback?code=x&state=y`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Sign-in did not complete');
  });

  it('tells a person without a role that they have no access, and starts no session', async () => {
    const agent = new UserAgent(new URL(server.issuer).origin);
    const login = await agent.open('/admin');
    const page = expectPage(await agent.submit(login, { email: 'nobody@example.test', password: 'correct horse battery staple' }));
    expect(page.status).toBe(403);
    expect(page.html).toContain('No access to the admin console');
    expect(agent.jar.names()).not.toContain('latchkey.console');
  });
});

describe('what a role sees and may do', () => {
  it('an admin creates a client (the secret shown once) and rotates its secret', async () => {
    const { agent, page } = await consoleSignIn(server, 'admin@example.test', '/admin/clients/new');
    expect(heading(page)).toBe('New client');
    const created = expectPage(await submitForm(agent, page, '/admin/clients', { client_name: 'Console app', redirect_uris: 'https://console-app.example.test/cb', grant_types: 'authorization_code' }));
    expect(created.status, created.html.slice(0, 2000)).toBe(201);
    const clientId = /<code>(lk_[\w-]+)<\/code>/.exec(created.html)![1]!;
    const secret = /id="client-secret">([^<]+)</.exec(created.html)![1]!;
    expect(secret.length).toBeGreaterThan(20);

    const edit = expectPage(await agent.open(`/admin/clients/${clientId}`));
    expect(edit.status).toBe(200);
    expect(edit.html).not.toContain(secret);
    const rotated = expectPage(await submitForm(agent, edit, '/secret'));
    expect(rotated.status).toBe(200);
    const newSecret = /id="client-secret">([^<]+)</.exec(rotated.html)![1]!;
    expect(newSecret).not.toBe(secret);
  });

  it('a viewer sees the lists with no write buttons', async () => {
    const { agent, page } = await consoleSignIn(server, 'viewer@example.test', '/admin/clients');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Existing app');
    expect(page.html).not.toContain('/admin/clients/new');
    expect(writeForms(page.html)).toEqual([]);

    const clientId = /href="\/admin\/clients\/(lk_[\w-]+)"/.exec(page.html)![1]!;
    const edit = expectPage(await agent.open(`/admin/clients/${clientId}`));
    expect(edit.status).toBe(200);
    expect(writeForms(edit.html)).toEqual([]);
    expect(edit.html).not.toContain('<button type="submit">Save');
    expect(edit.html).not.toContain('/delete');
  });

  it('a write forged by a viewer is refused by the API, as a readable 403 page', async () => {
    const { agent, page } = await consoleSignIn(server, 'viewer@example.test', '/admin/clients');
    const forged = expectPage(await agent.post('/admin/clients', new URLSearchParams({ token: formTokenOf(page.html), client_name: 'Forged', redirect_uris: 'https://forged.example.test/cb', grant_types: 'authorization_code' })));
    expect(forged.status).toBe(403);
    expect(forged.headers.get('content-type')).toMatch(/^text\/html/);
    expect(forged.html).toContain('insufficient_scope');
    expect(forged.html).toContain('Your role does not allow this');
    expect((await server.services.clients.list()).map((client) => client.name)).not.toContain('Forged');
  });

  it.each([
    { label: 'no form token', token: undefined },
    { label: 'a made-up form token', token: 'A'.repeat(43) },
  ])('refuses a form with $label before it reaches the API', async ({ token }) => {
    const { agent } = await consoleSignIn(server, 'admin@example.test');
    const body = new URLSearchParams({ client_name: 'No token', redirect_uris: 'https://no-token.example.test/cb', grant_types: 'authorization_code' });
    if (token) body.set('token', token);
    const refused = expectPage(await agent.post('/admin/clients', body));
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('invalid_form_token');
    expect((await server.services.clients.list()).map((client) => client.name)).not.toContain('No token');
  });

  it('a form token from another console session is refused', async () => {
    const other = await consoleSignIn(server, 'admin@example.test');
    const { agent } = await consoleSignIn(server, 'admin@example.test');
    const refused = expectPage(await agent.post('/admin/keys/rotate', new URLSearchParams({ token: formTokenOf(other.page.html) })));
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('invalid_form_token');
  });

  it('an API problem for a page becomes a readable page with its status, never a 500', async () => {
    const { agent } = await consoleSignIn(server, 'admin@example.test');
    const missing = expectPage(await agent.open('/admin/clients/lk_doesnotexist'));
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('not_found');
  });
});

describe('the pages and their actions, for an admin, against the real Admin API', () => {
  it('edits a client with If-Match, shows a stale edit as a readable 412, and deletes it after a confirmation page', async () => {
    const { client } = await server.services.clients.create({ name: 'To edit', redirectUris: ['https://edit.example.test/cb'] });
    const { agent, page } = await consoleSignIn(server, 'admin@example.test', `/admin/clients/${client.clientId}`);
    const saved = expectPage(await submitForm(agent, page, `/admin/clients/${client.clientId}`, { client_name: 'Edited', redirect_uris: 'https://edit.example.test/cb\nhttps://edit.example.test/cb2', grant_types: 'authorization_code' }));
    expect(saved.status, /<div class="error"[\s\S]*?<\/div>/.exec(saved.html)?.[0]).toBe(200);
    expect(saved.url.search).toBe('?done=saved');
    expect(heading(saved)).toBe('Edited');
    expect(saved.html).toContain('https://edit.example.test/cb2');

    // The first page's ETag is stale now.
    const stale = expectPage(await submitForm(agent, page, `/admin/clients/${client.clientId}`, { client_name: 'Lost update', grant_types: 'authorization_code' }));
    expect(stale.status).toBe(412);
    expect(stale.html).toContain('Someone changed this since you opened it');

    const confirm = expectPage(await agent.open(`/admin/clients/${client.clientId}/delete`));
    expect(heading(confirm)).toBe('Delete this client?');
    const deleted = expectPage(await submitForm(agent, confirm, `/admin/clients/${client.clientId}/delete`));
    expect(deleted.url.pathname + deleted.url.search).toBe('/admin/clients?done=deleted');
    expect((await server.services.clients.list()).map((c) => c.clientId)).not.toContain(client.clientId);
  });

  it('edits a service client (client credentials, no redirect URIs) as it is', async () => {
    const { client } = await server.services.clients.create({ name: 'Nightly job', grantTypes: ['client_credentials'], resources: [`${server.issuer}/admin`], scope: 'audit:read' });
    const { agent, page } = await consoleSignIn(server, 'admin@example.test', `/admin/clients/${client.clientId}`);
    expect(page.html).toContain('value="audit:read"');
    const saved = expectPage(await submitForm(agent, page, `/admin/clients/${client.clientId}`, { client_name: 'Nightly export', grant_types: 'client_credentials' }));
    expect(saved.url.search, /<div class="error"[\s\S]*?<\/div>/.exec(saved.html)?.[0]).toBe('?done=saved');
    expect((await server.services.clients.get(client.clientId)).name).toBe('Nightly export');
  });

  it('edits a device client as it is: its grant (the device flow URN) is on the form and stays', async () => {
    const device = 'urn:ietf:params:oauth:grant-type:device_code';
    const { client } = await server.services.clients.create({ name: 'Living-room TV', grantTypes: [device], public: true });
    const { agent, page } = await consoleSignIn(server, 'admin@example.test', `/admin/clients/${client.clientId}`);
    expect(page.html).toMatch(new RegExp(`value="${device}" checked`));
    const saved = expectPage(await submitForm(agent, page, `/admin/clients/${client.clientId}`, { client_name: 'Kitchen TV', grant_types: device }));
    expect(saved.url.search, /<div class="error"[\s\S]*?<\/div>/.exec(saved.html)?.[0]).toBe('?done=saved');
    expect(await server.services.clients.get(client.clientId)).toMatchObject({ name: 'Kitchen TV', grantTypes: [device] });
  });

  it('creates, edits and deletes a resource; a bad one is answered on the page naming the field', async () => {
    const { agent, page } = await consoleSignIn(server, 'admin@example.test', '/admin/resources');
    const refused = expectPage(await submitForm(agent, page, '/admin/resources', { identifier: 'not a url', scopes: 'read' }));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('identifier');
    const created = expectPage(await submitForm(agent, page, '/admin/resources', { identifier: 'https://notes.example.test', scopes: 'notes:read notes:write', access_token_ttl: '600' }));
    expect(created.url.search).toBe('?done=created');
    const id = /href="\/admin\/resources\/([^"]+)">https:\/\/notes\.example\.test</.exec(created.html)![1]!;
    const resource = expectPage(await agent.open(`/admin/resources/${id}`));
    const edited = expectPage(await submitForm(agent, resource, `/admin/resources/${id}`, { scopes: 'notes:read', access_token_ttl: '300' }));
    expect(edited.url.search).toBe('?done=saved');
    expect(edited.html).toContain('value="notes:read"');
    const confirm = expectPage(await agent.open(`/admin/resources/${id}/delete`));
    const deleted = expectPage(await submitForm(agent, confirm, `/admin/resources/${id}/delete`));
    expect(deleted.url.search).toBe('?done=deleted');
    expect(deleted.html).not.toContain('https://notes.example.test');
  });

  it('searches users by email prefix, disables one, resets their password and second factors, and revokes their sessions', async () => {
    const person = await createPerson(server, 'grace@example.test', 'none');
    const { agent } = await consoleSignIn(server, 'admin@example.test');
    const found = expectPage(await agent.open('/admin/users?email_prefix=grace'));
    expect(found.html).toContain('grace@example.test');
    expect(found.html).not.toContain('viewer@example.test');

    const user = expectPage(await agent.open(`/admin/users/${person.id}`));
    const steps: [string, Record<string, string>, string][] = [
      ['/disabled', {}, 'disabled'],
      ['/password', { password: 'a brand new passphrase' }, 'password'],
      ['/reset-mfa', {}, 'mfa'],
      ['/revoke-sessions', {}, 'sessions'],
      ['/role', { role: 'viewer' }, 'role'],
    ];
    for (const [action, values, done] of steps) {
      const after = expectPage(await submitForm(agent, user, `/admin/users/${person.id}${action}`, values));
      expect(after.url.search, `${action}: ${after.html.slice(0, 800)}`).toBe(`?done=${done}`);
    }
    const now = (await server.services.accounts.findById(person.id))!;
    expect(now).toMatchObject({ disabled: true, role: 'viewer' });
  });

  it('rotates a signing key and retires one after a confirmation page, forcing it only after the key_in_use refusal', async () => {
    const { agent, page } = await consoleSignIn(server, 'admin@example.test', '/admin/keys');
    const before = (page.html.match(/<tr>/g) ?? []).length;
    const rotated = expectPage(await submitForm(agent, page, '/admin/keys/rotate'));
    expect(rotated.url.search, `${rotated.status} ${/<h1>[\s\S]*?<\/p>/.exec(rotated.html)?.[0]}`).toBe('?done=rotated');
    expect((rotated.html.match(/<tr>/g) ?? []).length).toBe(before + 1);
    const kid = /href="\/admin\/keys\/([^"/]+)\/retire"/.exec(rotated.html)![1]!;
    const confirm = expectPage(await agent.open(`/admin/keys/${kid}/retire`));
    expect(heading(confirm)).toBe('Retire this key?');
    // The new key signs nothing yet: it retires without force.
    const retired = expectPage(await submitForm(agent, confirm, `/admin/keys/${kid}/retire`));
    expect(retired.url.search, retired.html.slice(0, 800)).toBe('?done=retired');
    await until(async () => (await server.services.audit.list({ types: ['key.retired'] })).find((event) => event.subject === kid && event.details?.forced === false));
    // A key that signs is refused as the CLI refuses it (key_in_use), and only then is forcing offered.
    const signing = [...retired.html.matchAll(/href="\/admin\/keys\/([^"/]+)\/retire"/g)].map((match) => match[1]!).find((other) => other !== kid)!;
    const inUse = expectPage(await submitForm(agent, expectPage(await agent.open(`/admin/keys/${signing}/retire`)), `/admin/keys/${signing}/retire`));
    expect([inUse.status, heading(inUse)]).toEqual([409, 'This key is still in use']);
    const force = parseForms(inUse.html).find((form) => form.action.endsWith(`/admin/keys/${signing}/retire`))!;
    expect(force.fields.force).toBe('true');
  });

  it('filters the audit log by type and time, and shows a bad filter on the page', async () => {
    const { agent } = await consoleSignIn(server, 'admin@example.test');
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const filtered = expectPage(await agent.open(`/admin/audit?type=login.*&since=${encodeURIComponent(since)}`));
    expect(filtered.status).toBe(200);
    expect(filtered.html).toContain('login.success');
    expect(filtered.html).not.toContain('<code>client.created</code>');
    const bad = expectPage(await agent.open('/admin/audit?type=no.such.type'));
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('class="error"');
  });

  it('draws the dashboard chart from the audit summary', async () => {
    const { page } = await consoleSignIn(server, 'admin@example.test');
    expect(page.url.pathname).toBe('/admin');
    expect(page.html).toContain('<svg class="chart"');
    expect(page.html).toMatch(/Tokens issued: <strong>\d+<\/strong>/);
  });
});
