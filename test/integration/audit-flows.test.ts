// Audit events from real flows over HTTP: a browser signs in (three kinds of
// failure first), consents, gets tokens, refreshes, reuses a refresh token and
// a code, denies consent, signs out, and a service uses client credentials.
// The server runs in this process so its log lines can be read; it is stopped
// before the table is read, so the events still buffered must be written by
// stop(). Then every stored event and every log line is searched for every
// secret, password, token, code and cookie the run used.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditRepository } from '../../src/audit/audit-repository.ts';
import { createLoginIdentifierDigest } from '../../src/audit/login-identifier.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createLog } from '../../src/log.ts';
import { startLatchkey, type RunningLatchkey } from '../../src/server.ts';
import { createServices } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, oauthError, signInAndAllow } from '../helpers/rp.ts';
import { freePort } from '../helpers/free-port.ts';
import { testEnv } from '../helpers/test-env.ts';

const API = 'https://orders.example.test/api';
const CALLBACK = 'https://app.example.test/cb';
const PASSWORD = 'correct horse battery staple';
const WRONG_PASSWORD = 'incorrect donkey battery stapler';
const UNKNOWN_EMAIL = 'nobody-here@example.test';
const OFFLINE = { scope: 'openid offline_access', prompt: 'consent' };

let database: TestDatabase;
let dataDir: string;
let config: Config;
let latchkey: RunningLatchkey | undefined;
const logLines: string[] = [];
const secrets = new Map<string, string>(); // value → what it is
const keep = (what: string, value: string | null | undefined) => {
  if (value && value.length >= 8) secrets.set(value, what);
};
const realFetch = globalThis.fetch;

let ada: { id: string };
let bob: { id: string };
let app: { id: string; secret: string };
let service: { id: string; secret: string };

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-audit-'));
  const port = await freePort();
  config = loadConfig(
    testEnv(
      { port, databaseUrl: database.url, dataDir },
      // No reuse grace: the refresh token used again at once below is a reuse, not a retry.
      { LOG_LEVEL: 'trace', LATCHKEY_REFRESH_REUSE_GRACE: '0' },
    ),
  );
  keep('master secret', config.masterSecret);

  const services = createServices({ config, db: database.db });
  await services.resources.create({ identifier: API, scopes: ['orders:read'] });
  ada = await services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
  bob = await services.accounts.create({ email: 'bob@example.test', password: PASSWORD });
  await services.accounts.disable(bob.id);
  const a = await services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] });
  app = { id: a.client.clientId, secret: a.clientSecret! };
  const s = await services.clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [API] });
  service = { id: s.client.clientId, secret: s.clientSecret! };
  keep('app secret', app.secret);
  keep('service secret', service.secret);
  keep('password', PASSWORD);
  keep('wrong password', WRONG_PASSWORD);

  // Every cookie the server sets, whoever made the request.
  globalThis.fetch = async (input, init) => {
    const response = await realFetch(input, init);
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const name = pair!.slice(0, pair!.indexOf('='));
      // The interaction cookies hold the interaction's uid, which is in its page URLs by design; their signatures are secret.
      if (name !== '_interaction' && name !== '_interaction_resume') keep(`cookie ${name}`, pair!.slice(pair!.indexOf('=') + 1));
    }
    return response;
  };

  latchkey = await startLatchkey({ config, log: createLog(config, { write: (line: string) => void logLines.push(line) }), drainMs: 1000 });
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  await latchkey?.stop();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function clientCredentials(scope: string) {
  const response = await fetch(`${config.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: API }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { access_token: string };
}

describe('audit events from real flows', () => {
  it('records each flow once, in order, in the table and as a log line, with no secret in either', { timeout: 120_000 }, async () => {
    const rp = await createRelyingParty({ issuer: config.issuer, clientId: app.id, clientSecret: app.secret, redirectUri: CALLBACK });

    // Three refused sign-ins on one login page, then the real one.
    let page = await rp.browser.open((await rp.authorizationRequest(OFFLINE)).url);
    for (const [email, password] of [['ada@example.test', WRONG_PASSWORD], [UNKNOWN_EMAIL, PASSWORD], ['bob@example.test', PASSWORD]] as const) {
      page = await rp.browser.submit(page, { email, password });
      expect(expectPage(page).status).toBe(400);
    }
    const { request, callback } = await signInAndAllow(rp, { email: 'ada@example.test', password: PASSWORD }, OFFLINE);
    keep('authorization code', callback.searchParams.get('code'));
    keep('PKCE verifier', request.codeVerifier);
    const tokens = await rp.exchange(callback, request);
    keep('access token', tokens.access_token);
    keep('refresh token', tokens.refresh_token);
    keep('ID token', tokens.id_token);
    const refreshed = await rp.refresh(tokens.refresh_token!);
    keep('rotated refresh token', refreshed.refresh_token);
    keep('refreshed access token', refreshed.access_token);
    keep('refreshed ID token', refreshed.id_token);
    // The rotated refresh token again: the provider revokes the grant.
    expect(await oauthError(rp.refresh(tokens.refresh_token!))).toBe('invalid_grant');

    // Signed in already: asked again, the person says no.
    const denied = await rp.authorizationRequest({ prompt: 'consent' });
    const consent = await rp.browser.open(denied.url);
    expect(heading(consent)).toMatch(/wants to access your account$/);
    expect(expectRedirect(await rp.browser.submit(consent, {}, 'Deny')).searchParams.get('error')).toBe('access_denied');

    // A code used twice.
    const again = await rp.authorizationRequest({ prompt: 'consent' });
    const secondCallback = expectRedirect(await rp.browser.submit(await rp.browser.open(again.url), {}, 'Allow'));
    keep('second authorization code', secondCallback.searchParams.get('code'));
    keep('second PKCE verifier', again.codeVerifier);
    const second = await rp.exchange(secondCallback, again);
    keep('second access token', second.access_token);
    keep('second ID token', second.id_token);
    expect(await oauthError(rp.exchange(secondCallback, again))).toBe('invalid_grant');

    const cc = await clientCredentials('orders:read');
    keep('client-credentials token', cc.access_token);

    const confirmation = await rp.browser.open(rp.endSessionUrl({ id_token_hint: second.id_token! }));
    expect(heading(confirmation)).toBe('Sign out?');
    expect(expectPage(await rp.browser.submit(confirmation, {}, 'Sign out')).url.pathname).toBe('/session/end/success');

    // Stopping writes what is still buffered.
    await latchkey!.stop();
    latchkey = undefined;

    const stored = (await createAuditRepository(database.db).list({ limit: 1000 })).reverse();
    const digest = createLoginIdentifierDigest(config.masterSecret!);
    const ip = '127.0.0.1';
    const expected = [
      { type: 'login.failure', actor: null, subject: ada.id, clientId: app.id, ip, details: { reason: 'wrong_password' } },
      { type: 'login.failure', actor: null, subject: null, clientId: app.id, ip, details: { reason: 'unknown_account', emailDigest: digest(UNKNOWN_EMAIL) } },
      { type: 'login.failure', actor: null, subject: bob.id, clientId: app.id, ip, details: { reason: 'account_disabled' } },
      { type: 'login.success', actor: ada.id, subject: ada.id, clientId: app.id, ip, details: { method: 'pwd' } },
      { type: 'consent.granted', actor: ada.id, subject: ada.id, clientId: app.id, ip, details: { scopes: ['openid', 'offline_access'], grantId: expect.any(String) } },
      { type: 'token.issued', actor: app.id, subject: ada.id, clientId: app.id, ip, details: { grantType: 'authorization_code', scope: 'openid offline_access', grantId: expect.any(String) } },
      { type: 'token.issued', actor: app.id, subject: ada.id, clientId: app.id, ip, details: { grantType: 'refresh_token', scope: 'openid offline_access', grantId: expect.any(String) } },
      { type: 'refresh_token.reuse_detected', actor: app.id, subject: ada.id, clientId: app.id, ip, details: { grantId: expect.any(String), grantRevoked: true } },
      { type: 'consent.denied', actor: ada.id, subject: ada.id, clientId: app.id, ip, details: { scopes: ['openid'] } },
      { type: 'consent.granted', actor: ada.id, subject: ada.id, clientId: app.id, ip, details: { scopes: ['openid'], grantId: expect.any(String) } },
      { type: 'token.issued', actor: app.id, subject: ada.id, clientId: app.id, ip, details: { grantType: 'authorization_code', scope: 'openid', grantId: expect.any(String) } },
      { type: 'authorization_code.reuse_detected', actor: app.id, subject: null, clientId: app.id, ip, details: { grantId: expect.any(String), grantRevoked: true } },
      { type: 'token.issued', actor: service.id, subject: service.id, clientId: service.id, ip, details: { grantType: 'client_credentials', scope: 'orders:read', resource: [API] } },
      { type: 'logout', actor: ada.id, subject: ada.id, clientId: app.id, ip, details: null },
    ];
    expect(stored.map(({ id: _id, at: _at, details, ...event }) => ({ ...event, details: details === null ? null : JSON.parse(details) }))).toEqual(expected);

    // One grant through the first code, its refresh and the reuse that revoked it.
    const grantOf = (index: number) => JSON.parse(stored[index]!.details!).grantId as string;
    expect(new Set([grantOf(4), grantOf(5), grantOf(6), grantOf(7)]).size).toBe(1);
    expect(grantOf(9)).toBe(grantOf(11));

    // Each event is also one structured log line at info, with the same fields and the request's id.
    const auditLines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.audit === true);
    expect(auditLines).toHaveLength(stored.length);
    for (const [index, row] of stored.entries()) {
      const line = auditLines[index]!;
      expect(line).toMatchObject({
        level: 30,
        id: row.id,
        type: row.type,
        at: row.at.toISOString(),
        actor: row.actor,
        subject: row.subject,
        clientId: row.clientId,
        ip: row.ip,
        details: row.details === null ? null : JSON.parse(row.details),
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    }

    // Nothing secret, in the table or in any log line (audit or not).
    expect(secrets.size).toBeGreaterThan(20);
    expect([...secrets.values()].filter((what) => what.startsWith('cookie _session')).length).toBeGreaterThan(0);
    const haystack = [JSON.stringify(await database.db.prisma.auditEvent.findMany()), ...logLines].join('\n');
    const leaked: string[] = [];
    for (const [value, what] of secrets) {
      // JWTs: the whole token, or its signature alone.
      const needles = value.split('.').length === 3 ? [value, value.split('.')[2]!] : [value];
      if (needles.some((needle) => needle.length >= 8 && haystack.includes(needle))) leaked.push(what);
    }
    expect(leaked).toEqual([]);
    // The search can find what it looks for: the email digest is in the table, the unknown email is not.
    expect(haystack).toContain(digest(UNKNOWN_EMAIL));
    expect(haystack).not.toContain(UNKNOWN_EMAIL);
  });
});
