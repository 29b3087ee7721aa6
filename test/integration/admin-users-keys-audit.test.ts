// The Admin API's users, keys and audit-events endpoints over HTTP, on the
// dialect under test: each endpoint's happy path, a table of refusals each
// asserting status and problem code (and the field, for 400s), pages across
// a boundary with rows inserted in between (no duplicates, no gaps), and
// every change an audit event whose actor is the token's client.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall, adminToken, createAdminClient, clientCredentialsToken, type AdminClient } from '../helpers/admin.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { eventually, smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const PASSWORD = 'correct horse battery staple';
/** Shared with the second server below (the keys in the database are sealed under it). */
const SECRET = randomBytes(32).toString('base64url');

let sink: SmtpSink;
let server: TestServer;
let admin: AdminClient;
/** Every admin scope; the actor of every change below. */
let token: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(sink.port), LATCHKEY_KEY_WATCH_INTERVAL: '1', LATCHKEY_SECRET: SECRET } });
  admin = await createAdminClient(server);
  token = await clientCredentialsToken(server, admin);
});

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

const call = (path: string, request: Parameters<typeof adminCall>[2] = {}) => adminCall(server, path, { token, ...request });

async function createUser(email: string, extra: Record<string, unknown> = {}) {
  const response = await call('/users', { body: { email, password: PASSWORD, ...extra } });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response;
}

/** The audit events of `subject`, as [type, actor], read through the API (which writes the server's buffered events first). */
async function eventsOf(subject: string) {
  const events: { type: string; actor: string; subject: string }[] = [];
  for (let cursor: string | null = null, first = true; first || cursor; first = false) {
    const page = await call(`/audit-events?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    events.push(...page.body.items);
    cursor = page.body.next_cursor;
  }
  return events.filter((event) => event.subject === subject).map((event) => [event.type, event.actor]);
}

describe('users', () => {
  it('creates, reads and patches a user with If-Match; a stale ETag is refused with 412', async () => {
    const created = await createUser('Grace@Example.test', { name: 'Grace Hopper' });
    const user = created.body;
    expect(user).toEqual({
      user_id: expect.any(String),
      email: 'grace@example.test',
      email_verified: false,
      name: 'Grace Hopper',
      disabled: false,
      role: 'none',
      mfa: { totp: false, passkeys: 0, recovery_codes_left: 0 },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(created.headers.get('location')).toBe(`/admin/v1/users/${user.user_id}`);
    const etag = created.headers.get('etag')!;
    expect(etag).toMatch(/^"\d+"$/);

    const read = await call(`/users/${user.user_id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(user);
    expect(read.headers.get('etag')).toBe(etag);

    const patched = await call(`/users/${user.user_id}`, { method: 'PATCH', body: { name: null, disabled: true, role: 'viewer' }, contentType: 'application/merge-patch+json', headers: { 'If-Match': etag } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ name: null, disabled: true, role: 'viewer', email: 'grace@example.test' });
    const newTag = patched.headers.get('etag')!;
    expect(newTag).not.toBe(etag);

    const stale = await call(`/users/${user.user_id}`, { method: 'PATCH', body: { disabled: false }, headers: { 'If-Match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');
    expect((await call(`/users/${user.user_id}`)).body.disabled).toBe(true);

    // Without If-Match: unconditional.
    const moved = await call(`/users/${user.user_id}`, { method: 'PATCH', body: { email: 'grace.h@example.test', disabled: false } });
    expect(moved.body).toMatchObject({ email: 'grace.h@example.test', disabled: false });

    expect(await eventsOf(user.user_id)).toEqual(
      expect.arrayContaining([
        ['user.created', admin.clientId],
        ['user.updated', admin.clientId],
        ['user.disabled', admin.clientId],
        ['user.enabled', admin.clientId],
        ['user.role_changed', admin.clientId],
      ]),
    );
  });

  it('invites by mail when no password is given, and the answer holds no password', async () => {
    const created = await call('/users', { body: { email: 'invitee@example.test', name: 'Invitee' } });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toMatch(/password/i);
    await eventually(() => sink.received.some((mail) => (mail.to as { text: string }).text === 'invitee@example.test'));
    expect(await eventsOf(created.body.user_id)).toEqual([['account.invited', admin.clientId]]);
  });

  it('without a mail server, refuses a user without a password, naming password, and creates none', async () => {
    const noMail = await startTestServer({ database: server.database, env: { LATCHKEY_SECRET: SECRET } });
    try {
      const own = await clientCredentialsToken(noMail, await createAdminClient(noMail, ['users:write']));
      const refused = await adminCall(noMail, '/users', { token: own, body: { email: 'no-mail@example.test' } });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'invalid_body', errors: [{ field: 'password', message: expect.any(String) }] });
      expect(await server.services.accounts.findByEmail('no-mail@example.test')).toBeUndefined();
      expect((await adminCall(noMail, '/users', { token: own, body: { email: 'no-mail@example.test', password: PASSWORD } })).status).toBe(201);
    } finally {
      await noMail.stop();
    }
  });

  it('sets a password, ends sessions, resets second factors and lists grants', async () => {
    const { body: user } = await createUser('ops-target@example.test');
    const prisma = server.database.db.prisma;
    await prisma.oidcArtifact.create({
      data: {
        model: 'Grant',
        id: 'grant-key-1',
        accountId: user.user_id,
        payload: JSON.stringify({ accountId: user.user_id, clientId: 'web-app', openid: { scope: 'openid email' }, resources: { 'https://api.example.test': 'orders:read orders:write' } }),
        expiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    await prisma.oidcArtifact.create({ data: { model: 'Session', id: 'session-key-1', accountId: user.user_id, uid: 'session-uid-1', payload: '{}' } });
    await prisma.passkey.create({ data: { id: 'cred-1', accountId: user.user_id, name: 'Phone', publicKey: 'pk', counter: 0 } });

    const grants = await call(`/users/${user.user_id}/grants`);
    expect(grants.status).toBe(200);
    expect(grants.body.items).toEqual([
      { grant_id: 'grant-key-1', client_id: 'web-app', scopes: ['openid', 'email'], resources: [{ identifier: 'https://api.example.test', scopes: ['orders:read', 'orders:write'] }], expires_at: expect.any(String) },
    ]);
    expect((await call(`/users/${user.user_id}`)).body.mfa).toEqual({ totp: false, passkeys: 1, recovery_codes_left: 0 });

    expect((await call(`/users/${user.user_id}/reset-mfa`, { method: 'POST' })).status).toBe(204);
    expect((await call(`/users/${user.user_id}`)).body.mfa.passkeys).toBe(0);

    expect((await call(`/users/${user.user_id}/revoke-sessions`, { method: 'POST' })).status).toBe(204);
    expect(await prisma.oidcArtifact.count({ where: { accountId: user.user_id } })).toBe(0);
    expect((await call(`/users/${user.user_id}/grants`)).body.items).toEqual([]);

    expect((await call(`/users/${user.user_id}/password`, { body: { password: 'a brand new passphrase' } })).status).toBe(204);
    expect(await server.services.accounts.authenticate('ops-target@example.test', 'a brand new passphrase')).toMatchObject({ id: user.user_id });

    expect(await eventsOf(user.user_id)).toEqual(
      expect.arrayContaining([
        ['mfa.reset', admin.clientId],
        ['user.sessions_revoked', admin.clientId],
        ['user.password_set', admin.clientId],
      ]),
    );
  });

  it('pages across a boundary with users created in between: no duplicates, no gaps, email prefix literal', async () => {
    const existing: string[] = [];
    for (let i = 0; i < 5; i++) existing.push((await createUser(`pager_${i}@example.test`)).body.user_id);
    await createUser('pagerX@example.test'); // "_" is no wildcard: not matched by "pager_"
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let round = 0; round < 10; round++) {
      const page = await call(`/users?limit=2&email_prefix=PAGER_${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((user: { user_id: string }) => user.user_id));
      if (round < 2) await createUser(`pager_new${round}@example.test`);
      cursor = page.body.next_cursor;
      if (!cursor) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
    expect([...seen].sort()).toEqual(seen);
    const all = await call('/users?limit=200&email_prefix=pager_');
    expect(all.body.items.map((user: { email: string }) => user.email)).not.toContain('pagerx@example.test');
  });
});

describe('audit events', () => {
  it('pages newest first across a boundary with events recorded in between, filtered by group', async () => {
    const existing = (await call('/audit-events?type=user.*&limit=200')).body.items.map((event: { id: string }) => event.id);
    expect(existing.length).toBeGreaterThan(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let round = 0; round < 100; round++) {
      const page = await call(`/audit-events?type=user.*,mfa.reset&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((event: { id: string }) => event.id));
      if (round < 2) await createUser(`audit-between-${round}@example.test`);
      cursor = page.body.next_cursor;
      if (!cursor) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
    const first = (await call('/audit-events?type=user.created&limit=1')).body.items[0];
    expect(first).toEqual({ id: expect.any(String), type: 'user.created', at: expect.any(String), actor: admin.clientId, subject: expect.any(String), client_id: null, ip: expect.any(String), details: null });
    const since = await call(`/audit-events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(since.body).toEqual({ items: [], next_cursor: null });
  });

  it('summarises tokens issued and failed logins per hour', async () => {
    await clientCredentialsToken(server, admin);
    const since = new Date(Date.now() - 2 * 3_600_000);
    const summary = await call(`/audit-events/summary?since=${encodeURIComponent(since.toISOString())}`);
    expect(summary.status).toBe(200);
    expect(summary.body.hours).toHaveLength(3);
    const total = summary.body.hours.reduce((sum: number, hour: { tokens_issued: number }) => sum + hour.tokens_issued, 0);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(summary.body.hours[0]).toEqual({ hour: expect.stringMatching(/T\d{2}:00:00\.000Z$/), tokens_issued: expect.any(Number), failed_logins: 0 });
    expect((await call('/audit-events/summary')).body.hours).toHaveLength(25);
  });
});

describe('refusals', () => {
  it.each([
    { label: 'no token', path: '/users', token: '', status: 401, code: 'invalid_token' },
    { label: 'no token (keys)', path: '/keys', token: '', status: 401, code: 'invalid_token' },
    { label: 'a token that is no JWT', path: '/audit-events', token: 'not-a-jwt', status: 401, code: 'invalid_token' },
    { label: 'users:write without users:read', path: '/users', scopes: ['users:write'], status: 403, code: 'insufficient_scope' },
    { label: 'users:read creating a user', path: '/users', scopes: ['users:read'], body: { email: 'x@example.test', password: PASSWORD }, status: 403, code: 'insufficient_scope' },
    { label: 'keys:read rotating', path: '/keys', method: 'POST', scopes: ['keys:read'], status: 403, code: 'insufficient_scope' },
    { label: 'users:read reading audit events', path: '/audit-events', scopes: ['users:read'], status: 403, code: 'insufficient_scope' },
    { label: 'an unknown user', path: '/users/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found' },
    { label: 'an unknown user (patch)', path: '/users/00000000-0000-4000-8000-000000000000', method: 'PATCH', body: { disabled: true }, status: 404, code: 'not_found' },
    { label: 'an unknown user (grants)', path: '/users/nobody/grants', status: 404, code: 'not_found' },
    { label: 'an unknown user (reset-mfa)', path: '/users/nobody/reset-mfa', method: 'POST', status: 404, code: 'not_found' },
    { label: 'an unknown key', path: '/keys/no-such-kid/retire', method: 'POST', status: 404, code: 'not_found' },
    { label: 'a user without email', path: '/users', body: { password: PASSWORD }, status: 400, code: 'invalid_body', field: 'email' },
    { label: 'an unknown field', path: '/users', body: { email: 'y@example.test', password: PASSWORD, admin: true }, status: 400, code: 'invalid_body', field: 'admin' },
    { label: 'a malformed email', path: '/users', body: { email: 'not an email', password: PASSWORD }, status: 400, code: 'invalid_body', field: 'email' },
    { label: 'a common password', path: '/users', body: { email: 'z@example.test', password: 'password1' }, status: 400, code: 'invalid_body', field: 'password' },
    { label: 'a role that does not exist', path: '/users/{grace}', method: 'PATCH', body: { role: 'owner' }, status: 400, code: 'invalid_body', field: 'role' },
    { label: 'disabled as a string', path: '/users/{grace}', method: 'PATCH', body: { disabled: 'yes' }, status: 400, code: 'invalid_body', field: 'disabled' },
    { label: 'an empty patch', path: '/users/{grace}', method: 'PATCH', body: {}, status: 400, code: 'invalid_body' },
    { label: 'a short new password', path: '/users/{grace}/password', body: { password: 'short' }, status: 400, code: 'invalid_body', field: 'password' },
    { label: 'a taken email', path: '/users/{grace}', method: 'PATCH', body: { email: 'taken@example.test' }, status: 409, code: 'conflict' },
    { label: 'a stale If-Match', path: '/users/{grace}', method: 'PATCH', body: { name: 'x' }, headers: { 'If-Match': '"1"' }, status: 412, code: 'precondition_failed' },
    { label: 'a weak If-Match', path: '/users/{grace}', method: 'PATCH', body: { name: 'x' }, headers: { 'If-Match': 'W/"1"' }, status: 412, code: 'precondition_failed' },
    { label: 'a text/plain patch', path: '/users/{grace}', method: 'PATCH', rawBody: '{"name":"x"}', contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
    { label: 'limit 0', path: '/users?limit=0', status: 400, code: 'invalid_query', field: 'limit' },
    { label: 'limit 201', path: '/audit-events?limit=201', status: 400, code: 'invalid_query', field: 'limit' },
    { label: 'a forged cursor', path: '/users?cursor=bm90LWpzb24', status: 400, code: 'invalid_query', field: 'cursor' },
    { label: 'a forged audit cursor', path: `/audit-events?cursor=${Buffer.from('["not a date","x"]').toString('base64url')}`, status: 400, code: 'invalid_query', field: 'cursor' },
    { label: 'an unknown query parameter', path: '/users?email=x', status: 400, code: 'invalid_query', field: 'email' },
    { label: 'an unknown event type', path: '/audit-events?type=nope.*', status: 400, code: 'invalid_query', field: 'type' },
    { label: 'a since that is no time', path: '/audit-events?since=yesterday', status: 400, code: 'invalid_query', field: 'since' },
    { label: 'a summary too far back', path: '/audit-events/summary?since=2000-01-01T00:00:00Z', status: 400, code: 'invalid_query', field: 'since' },
    { label: 'an unknown algorithm', path: '/keys', body: { alg: 'HS256' }, status: 400, code: 'invalid_body', field: 'alg' },
    { label: 'force that is no boolean', path: '/keys/x/retire?force=maybe', method: 'POST', status: 400, code: 'invalid_query', field: 'force' },
  ])('$label → $status $code', async ({ path, method, body, rawBody, contentType, headers, scopes, status, code, field, ...rest }) => {
    const grace = await server.services.accounts.findByEmail('refusals@example.test') ?? (await server.services.accounts.create({ email: 'refusals@example.test', password: PASSWORD }));
    if (!(await server.services.accounts.findByEmail('taken@example.test'))) await server.services.accounts.create({ email: 'taken@example.test', password: PASSWORD });
    const bearer = 'token' in rest ? (rest.token as string) : scopes ? await adminToken(server, scopes as never) : token;
    const response = await adminCall(server, path.replace('{grace}', grace.id), {
      ...(bearer && { token: bearer }),
      ...(method && { method }),
      ...(body !== undefined && { body }),
      ...(rawBody !== undefined && { rawBody }),
      ...(contentType && { contentType }),
      ...(headers && { headers }),
    });
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: `urn:latchkey:problem:${code}`, status, code });
    if (field !== undefined) expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
  });
});

// Last: forcing a key out invalidates the tokens it signed, the ones above included.
describe('keys', () => {
  it('lists, rotates and retires with the CLI rules: key_in_use unless forced', async () => {
    const listed = await call('/keys');
    expect(listed.status).toBe(200);
    const signing = listed.body.items.find((key: { alg: string; signing: boolean }) => key.alg === 'ES256' && key.signing);
    expect(signing).toMatchObject({ kid: expect.any(String), state: 'active', retired_at: null, retirable_at: null });
    expect(JSON.stringify(listed.body)).not.toMatch(/"d"|sealed|private/i);

    // A key published for later, never signing: retired at once, no force needed.
    const pending = await call('/keys', { body: { alg: 'RS256', activate_after: 3600 } });
    expect(pending.status, JSON.stringify(pending.body)).toBe(201);
    expect(pending.body).toMatchObject({ alg: 'RS256', state: 'published', signing: false });
    const retiredPending = await call(`/keys/${pending.body.kid}/retire`, { method: 'POST' });
    expect(retiredPending.status).toBe(200);
    expect(retiredPending.body).toMatchObject({ kid: pending.body.kid, state: 'retired', forced: false });

    // The signing key: refused while it signs.
    const refused = await call(`/keys/${signing.kid}/retire`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('key_in_use');

    // Rotated in now (no body: the defaults, ES256 after the activation delay; here activate_after 0).
    const rotated = await call('/keys', { body: { activate_after: 0 } });
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ alg: 'ES256', state: 'active' });
    const superseded = await call(`/keys/${signing.kid}/retire`, { method: 'POST' });
    expect(superseded.status).toBe(409);
    expect(superseded.body.code).toBe('key_in_use');
    const forced = await call(`/keys/${signing.kid}/retire?force=true`, { method: 'POST' });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ kid: signing.kid, state: 'retired', forced: true });
    expect((await call(`/keys/${signing.kid}/retire?force=true`, { method: 'POST' })).body.code).toBe('conflict');

    await server.services.audit.flush();
    const stored = async (kid: string) => (await server.services.audit.list({ types: ['key.*'], limit: 100 })).filter((event) => event.subject === kid).map((event) => [event.type, event.actor]);
    // Written by the server's own buffer within its interval.
    await eventually(async () => (await stored(signing.kid)).length > 0);
    expect(await stored(rotated.body.kid)).toEqual([['key.rotated', admin.clientId]]);
    expect(await stored(signing.kid)).toEqual([['key.retired', admin.clientId]]);
  });

  it('rotates with no body at all (the defaults)', async () => {
    // A fresh token: the one above was signed by the key just retired (once the instance has reloaded its keys).
    await eventually(async () => (await adminCall(server, '/keys', { token: await clientCredentialsToken(server, admin) })).status === 200);
    const fresh = await clientCredentialsToken(server, admin);
    const response = await adminCall(server, '/keys', { method: 'POST', token: fresh });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body).toMatchObject({ alg: 'ES256', state: 'published' });
  });
});
