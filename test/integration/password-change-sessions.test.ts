// Changing a password ends everything the old one let in: after `latchkey
// user set-password`, the account's refresh tokens are invalid_grant, its
// access tokens introspect as inactive, and its browser sessions are gone (a
// new /auth shows the login page), on every client. Another person's
// sessions and tokens are untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { runCli } from '../helpers/cli.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, oauthError, signInAndAllow, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const OLD_PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a completely different passphrase';
const OFFLINE = { scope: 'openid offline_access', prompt: 'consent' };
const CALLBACKS = { web: 'https://app.example.test/cb', diary: 'https://diary.example.test/cb' };

let server: TestServer;
let clients: Record<keyof typeof CALLBACKS, { id: string; secret: string }>;

beforeAll(async () => {
  server = await startTestServer();
  const { accounts, clients: registry } = server.services;
  await accounts.create({ email: 'ada@example.test', password: OLD_PASSWORD });
  await accounts.create({ email: 'bob@example.test', password: OLD_PASSWORD });
  const register = async (name: string, redirectUri: string) => {
    const created = await registry.create({ name, redirectUris: [redirectUri], grantTypes: ['authorization_code', 'refresh_token'] });
    return { id: created.client.clientId, secret: created.clientSecret! };
  };
  clients = { web: await register('Web app', CALLBACKS.web), diary: await register('Diary', CALLBACKS.diary) };
});

afterAll(async () => {
  await server?.stop();
});

const relyingParty = (name: keyof typeof CALLBACKS) =>
  createRelyingParty({ issuer: server.issuer, clientId: clients[name].id, clientSecret: clients[name].secret, redirectUri: CALLBACKS[name] });

async function offlineTokens(rp: RelyingParty, email: string) {
  const { request, callback } = await signInAndAllow(rp, { email, password: OLD_PASSWORD }, OFFLINE);
  const tokens = await rp.exchange(callback, request);
  expect(tokens.refresh_token).toEqual(expect.any(String));
  return tokens;
}

async function introspect(name: keyof typeof CALLBACKS, token: string): Promise<boolean> {
  const response = await fetch(`${server.issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clients[name].id}:${clients[name].secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { active: boolean }).active;
}

/** Where a fresh authorization request in this browser lands: the login page, or straight back with a code. */
async function freshAuthorization(rp: RelyingParty): Promise<'login' | 'code'> {
  const step = await rp.browser.open((await rp.authorizationRequest({ scope: 'openid' })).url);
  if (step.kind === 'redirect') {
    expect(expectRedirect(step).searchParams.get('code')).toBeTruthy();
    return 'code';
  }
  expect(heading(expectPage(step))).toBe('Sign in');
  return 'login';
}

describe('latchkey user set-password', () => {
  it("ends the account's sessions, grants, refresh and access tokens on every client, and no one else's", async () => {
    const web = await relyingParty('web');
    const diary = await relyingParty('diary');
    const bobs = await relyingParty('web');
    const adaWeb = await offlineTokens(web, 'ada@example.test');
    const adaDiary = await offlineTokens(diary, 'ada@example.test');
    const bob = await offlineTokens(bobs, 'bob@example.test');
    // Signed in: a new request goes straight through.
    expect(await freshAuthorization(web)).toBe('code');
    expect(await introspect('web', adaWeb.access_token)).toBe(true);
    expect(await introspect('web', adaWeb.refresh_token!)).toBe(true);

    const changed = await runCli(['user', 'set-password', 'ada@example.test', '--password-stdin', '--json'], {
      env: { DATABASE_URL: server.database.url, LATCHKEY_SECRET: randomBytes(32).toString('base64url') },
      input: `${NEW_PASSWORD}\n`,
    });
    expect({ code: changed.code, stderr: changed.stderr }).toEqual({ code: 0, stderr: '' });

    expect(await oauthError(web.refresh(adaWeb.refresh_token!))).toBe('invalid_grant');
    expect(await oauthError(diary.refresh(adaDiary.refresh_token!))).toBe('invalid_grant');
    expect(await introspect('web', adaWeb.access_token)).toBe(false);
    expect(await introspect('web', adaWeb.refresh_token!)).toBe(false);
    expect(await introspect('diary', adaDiary.access_token)).toBe(false);
    expect(await freshAuthorization(web)).toBe('login');
    expect(await freshAuthorization(diary)).toBe('login');

    // Bob's session and tokens are his own.
    expect(await introspect('web', bob.access_token)).toBe(true);
    expect((await bobs.refresh(bob.refresh_token!)).access_token).toEqual(expect.any(String));
    expect(await freshAuthorization(bobs)).toBe('code');

    // The new password signs Ada in again; the old one does not.
    const again = await relyingParty('web');
    const login = await again.browser.open((await again.authorizationRequest({ scope: 'openid' })).url);
    const refused = expectPage(await again.browser.submit(login, { email: 'ada@example.test', password: OLD_PASSWORD }));
    expect(heading(refused)).toBe('Sign in');
    const { callback } = await signInAndAllow(again, { email: 'ada@example.test', password: NEW_PASSWORD }, { scope: 'openid', prompt: 'login consent' });
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it('records the change as today, as user.password_set by the CLI', async () => {
    const events = await server.services.audit.list({ types: ['user.password_set'] });
    expect(events.map((event) => event.actor)).toContain('cli');
  });
});
