// The device authorization grant (RFC 8628) end to end over HTTP: openid-client
// v6 plays the device (initiateDeviceAuthorization, pollDeviceAuthorizationGrant),
// the form-submitting user agent plays the person on /device (type the code,
// confirm it, sign in, consent, "return to your device"). Then the refusals,
// as a table with exact error codes: expired, pending, too fast, reused,
// another client's code, denied; wrong codes on the page, throttled entry, and
// exactly one of ten parallel polls after approval getting tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { codeAt, enrol } from '../helpers/mfa.ts';
import { expectPage, heading, parseForms, UserAgent, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PASSWORD = 'correct horse battery staple';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

let server: TestServer;
let ada: { id: string; email: string };
let tv: { id: string };
let cli: { id: string; secret: string };
let other: { id: string };

async function deviceConfig(clientId: string, secret?: string, issuer = server.issuer) {
  return oidc.discovery(new URL(issuer), clientId, secret ? {} : { token_endpoint_auth_method: 'none' }, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** One raw poll of the token endpoint, for the exact error code (openid-client would wait and retry on pending and slow_down). */
async function poll(deviceCode: string, clientId: string, secret?: string, issuer = server.issuer) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(secret && { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` }),
    },
    body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, ...(!secret && { client_id: clientId }) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Every device code and user code handed out, to check that none reaches a log line. */
const handedOut: string[] = [];
const logLines: string[] = [];

async function initiate(config: oidc.Configuration, parameters: Record<string, string>) {
  const authorization = await oidc.initiateDeviceAuthorization(config, parameters);
  handedOut.push(authorization.device_code, authorization.user_code, authorization.user_code.replace('-', ''));
  return authorization;
}

const h1 = (step: Step) => heading(step)?.replace(/<[^>]+>/g, '');

/** The person at /device: types `typed`, and is shown the confirmation page (or whatever came instead). */
async function enterCode(ua: UserAgent, typed: string, headers?: Record<string, string>): Promise<Step> {
  const entry = expectPage(await ua.open('/device', { headers }));
  expect(h1(entry)).toBe('Connect a device');
  return ua.submit(entry, { user_code: typed }, undefined, { headers });
}

/** From the confirmation page through sign-in and consent; resolves to the last page (the "return to your device" page when all went well). */
async function confirmSignInAllow(ua: UserAgent, confirm: Step, { allow = true } = {}): Promise<Step> {
  expect(h1(confirm)).toMatch(/^Connect .*\?$/);
  let page = await ua.submit(confirm, {}, 'Continue');
  if (h1(page) === 'Sign in') page = await ua.submit(page, { email: ada.email, password: PASSWORD });
  expect(h1(page)).toMatch(/wants to access your account$/);
  expect(expectPage(page).html).toContain('your device will be told your answer');
  return ua.submit(page, {}, allow ? 'Allow' : 'Deny');
}

/** The newest events of `type`, once there are `atLeast` (the server writes them in batches, every second). */
async function auditEvents(type: string, atLeast = 1) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const events = await server.services.audit.list({ types: [type], limit: 50 });
    if (events.length >= atLeast || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_TRUST_PROXY: 'true', LOG_LEVEL: 'debug' }, logTo: { write: (line: string) => void logLines.push(line) } });
  const { clients, accounts } = server.services;
  const account = await accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  ada = { id: account.id, email: account.email };
  tv = { id: (await clients.create({ name: 'Living-room TV', public: true, grantTypes: [DEVICE_GRANT, 'refresh_token'] })).client.clientId };
  const created = await clients.create({ name: 'Deploy CLI', grantTypes: ['device_code'] });
  cli = { id: created.client.clientId, secret: created.clientSecret! };
  other = { id: (await clients.create({ name: 'Other TV', tokenEndpointAuthMethod: 'none', grantTypes: ['device_code'] })).client.clientId };
});

afterAll(async () => {
  await server?.stop();
});

describe('device authorization grant: registration and discovery', () => {
  it('stores the device grant by its URN, from the URN or the short name, for public and confidential clients', async () => {
    const { clients } = server.services;
    expect((await clients.get(tv.id)).grantTypes).toEqual([DEVICE_GRANT, 'refresh_token']);
    const confidential = await clients.get(cli.id);
    expect(confidential).toMatchObject({ grantTypes: [DEVICE_GRANT], public: false, redirectUris: [], responseTypes: [] });
    expect(confidential.scope).toBe('openid profile email');
  });

  it('advertises the device authorization endpoint and the grant', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.device_authorization_endpoint).toBe(`${server.issuer}/device/auth`);
    expect(metadata.grant_types_supported).toContain(DEVICE_GRANT);
  });
});

describe('device authorization grant: the happy paths', () => {
  it('a public device: the person types the code (any case, no dash) on /device, signs in, consents, and the device gets tokens', async () => {
    const config = await deviceConfig(tv.id);
    const authorization = await initiate(config, { scope: 'openid profile offline_access' });
    expect(authorization).toMatchObject({
      user_code: expect.stringMatching(USER_CODE),
      verification_uri: `${server.issuer}/device`,
      verification_uri_complete: `${server.issuer}/device?user_code=${authorization.user_code}`,
      expires_in: 600,
      interval: 5,
    });
    const tokens = oidc.pollDeviceAuthorizationGrant(config, authorization);

    const ua = new UserAgent(new URL(server.issuer).origin);
    const confirm = await enterCode(ua, ` ${authorization.user_code.replace('-', '').toLowerCase()} `);
    expect(expectPage(confirm).html).toContain(authorization.user_code);
    expect(expectPage(confirm).html).toContain('Living-room TV');
    const done = expectPage(await confirmSignInAllow(ua, confirm));
    expect(done.status).toBe(200);
    expect(h1(done)).toBe('You are connected');
    expect(done.html).toContain('You can return to your device.');
    expect(done.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const result = await tokens;
    expect(result.token_type).toBe('bearer');
    expect(result.refresh_token).toEqual(expect.any(String));
    expect(result.claims()).toMatchObject({ sub: ada.id, aud: tv.id, iss: server.issuer });
    expect(await oidc.fetchUserInfo(config, result.access_token, ada.id)).toMatchObject({ sub: ada.id, name: 'Ada Lovelace' });
    expect(result.scope?.split(' ').sort()).toEqual(['offline_access', 'openid', 'profile']);
    // The refresh token works like any other.
    expect((await oidc.refreshTokenGrant(config, result.refresh_token!)).access_token).toEqual(expect.any(String));

    const [approved] = await auditEvents('device.approved');
    expect(approved).toMatchObject({ clientId: tv.id, subject: ada.id });
    expect(JSON.stringify(approved)).not.toContain(authorization.user_code);
    expect(JSON.stringify(approved)).not.toContain(authorization.device_code);
  });

  it('a confidential device, through verification_uri_complete: the code comes pre-filled and the person still confirms it', async () => {
    const config = await deviceConfig(cli.id, cli.secret);
    const authorization = await initiate(config, { scope: 'openid email' });
    const tokens = oidc.pollDeviceAuthorizationGrant(config, authorization);

    const ua = new UserAgent(new URL(server.issuer).origin);
    // oidc-provider answers with a form that posts the code (a browser submits it by itself; this agent presses its button).
    const handOver = expectPage(await ua.open(authorization.verification_uri_complete!));
    expect(parseForms(handOver.html)[0]?.fields.user_code).toBe(authorization.user_code);
    const confirm = await ua.submit(handOver);
    expect(h1(confirm)).toBe('Connect Deploy CLI?');
    expect(h1(await confirmSignInAllow(ua, confirm))).toBe('You are connected');

    const result = await tokens;
    expect(decodeJwt(result.id_token!)).toMatchObject({ sub: ada.id, aud: cli.id });
    expect(await oidc.fetchUserInfo(config, result.access_token, ada.id)).toMatchObject({ sub: ada.id, email: ada.email });
  });

  it('a client that requires a second factor: the person signs in with the password, then the app code, as at any sign-in', async () => {
    const email = 'grace@example.test';
    const grace = await server.services.accounts.create({ email, name: 'Grace Hopper', password: PASSWORD });
    // Enrolled with the code of the step before, so the current one is still unused for the sign-in.
    const { secret } = await enrol(new UserAgent(new URL(server.issuer).origin), email, PASSWORD, -1);
    const strict = await server.services.clients.create({ name: 'Kiosk', public: true, grantTypes: ['device_code'], requireMfa: true });
    const config = await deviceConfig(strict.client.clientId);
    const authorization = await initiate(config, { scope: 'openid' });
    const tokens = oidc.pollDeviceAuthorizationGrant(config, authorization);

    const ua = new UserAgent(new URL(server.issuer).origin);
    const login = await ua.submit(await enterCode(ua, authorization.user_code), {}, 'Continue');
    expect(h1(login)).toBe('Sign in');
    const prompt = await ua.submit(login, { email, password: PASSWORD });
    expect(h1(prompt)).toBe('Enter your code');
    const consent = await ua.submit(prompt, { code: codeAt(secret) });
    expect(h1(consent)).toBe('Kiosk wants to access your account');
    expect(h1(await ua.submit(consent, {}, 'Allow'))).toBe('You are connected');

    const result = await tokens;
    expect(result.claims()).toMatchObject({ sub: grace.id, acr: 'urn:latchkey:acr:mfa' });
  });

  it('serves verification_uri_complete as an SVG QR code, for a well-formed user code only', async () => {
    const ok = await fetch(`${server.issuer}/device/qr?user_code=bcdf-ghjk`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/svg+xml');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('content-security-policy')).toBe("default-src 'none'");
    const svg = await ok.text();
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).not.toMatch(/<script|on\w+=/i);
    for (const bad of ['', 'https://evil.example/', 'AEIO-UAEI', 'BCDF-GHJ', 'BCDF-GHJKL', 'x'.repeat(100)]) {
      const refused = await fetch(`${server.issuer}/device/qr?user_code=${encodeURIComponent(bad)}`);
      expect(refused.status, bad).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_request');
    }
  });
});

describe('device authorization grant: refusals at the token endpoint', () => {
  it.each([
    ['authorization_pending while the person has not answered', 'pending'],
    ['slow_down for a poll sooner than the interval', 'slow_down'],
    ['invalid_grant for another client’s device code', 'other_client'],
    ['access_denied once the person cancelled on the confirmation page', 'cancelled'],
    ['access_denied once the person denied consent', 'denied'],
    ['invalid_grant for a device code used once already', 'reused'],
  ] as const)('%s', async (_label, scenario) => {
    const config = await deviceConfig(tv.id);
    const authorization = await initiate(config, { scope: 'openid' });
    const ua = new UserAgent(new URL(server.issuer).origin);
    let expected: { status: number; error: string };
    switch (scenario) {
      case 'pending':
        expected = { status: 400, error: 'authorization_pending' };
        break;
      case 'slow_down':
        expect((await poll(authorization.device_code, tv.id)).body.error).toBe('authorization_pending');
        expected = { status: 400, error: 'slow_down' };
        break;
      case 'other_client':
        expected = { status: 400, error: 'invalid_grant' };
        expect(await poll(authorization.device_code, other.id)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
        // The code's own client still waits for its person.
        expect((await poll(authorization.device_code, tv.id)).body.error).toBe('authorization_pending');
        return;
      case 'cancelled': {
        const confirm = await enterCode(ua, authorization.user_code);
        const page = expectPage(await ua.submit(confirm, {}, 'Cancel'));
        expect(h1(page)).toBe('Device not connected');
        expected = { status: 400, error: 'access_denied' };
        break;
      }
      case 'denied': {
        const page = expectPage(await confirmSignInAllow(ua, await enterCode(ua, authorization.user_code), { allow: false }));
        expect(h1(page)).toBe('Device not connected');
        expected = { status: 400, error: 'access_denied' };
        break;
      }
      case 'reused': {
        expect(h1(await confirmSignInAllow(ua, await enterCode(ua, authorization.user_code)))).toBe('You are connected');
        expect((await poll(authorization.device_code, tv.id)).status).toBe(200);
        expected = { status: 400, error: 'invalid_grant' };
        break;
      }
    }
    expect(await poll(authorization.device_code, tv.id)).toMatchObject({ status: expected.status, body: { error: expected.error } });
  });

  it('records a cancelled device as device.denied, without its codes', async () => {
    const events = await auditEvents('device.denied', 2);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0]).toMatchObject({ clientId: tv.id });
  });

  it('expired_token for a device code past its lifetime, and the "expired" page for its user code', async () => {
    const short = await startTestServer({ env: { LATCHKEY_DEVICE_CODE_TTL: '1' } });
    try {
      const client = await short.services.clients.create({ name: 'Short-lived', public: true, grantTypes: ['device_code'] });
      const config = await deviceConfig(client.client.clientId, undefined, short.issuer);
      const authorization = await initiate(config, { scope: 'openid' });
      expect(authorization.expires_in).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await poll(authorization.device_code, client.client.clientId, undefined, short.issuer)).toMatchObject({ status: 400, body: { error: 'expired_token' } });
      const ua = new UserAgent(new URL(short.issuer).origin);
      const page = expectPage(await enterCode(ua, authorization.user_code));
      expect(page.status).toBe(400);
      expect(page.html).toContain('That code has expired.');
    } finally {
      await short.stop();
    }
  });

  it('of ten parallel polls after approval, exactly one gets tokens', async () => {
    const config = await deviceConfig(tv.id);
    const authorization = await initiate(config, { scope: 'openid' });
    const ua = new UserAgent(new URL(server.issuer).origin);
    expect(h1(await confirmSignInAllow(ua, await enterCode(ua, authorization.user_code)))).toBe('You are connected');
    const answers = await Promise.all(Array.from({ length: 10 }, () => poll(authorization.device_code, tv.id)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => answer.body.error)).toEqual(Array(9).fill('invalid_grant'));
    // A loser that reached the consume is a reuse: audited, and the grant revoked as for a reused code (the
    // later ones then find no code at all). The winner's answer stands: it was decided by the database.
    const reuses = await auditEvents('device_code.reuse_detected');
    expect(reuses.some((event) => event.clientId === tv.id && event.details?.grantRevoked === true)).toBe(true);
  });
});

describe('device authorization grant: the /device page', () => {
  it('answers a wrong code with the form again and a readable message, and approves nothing', async () => {
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = expectPage(await enterCode(ua, 'BCDF-BCDF', { 'x-forwarded-for': '198.51.100.7' }));
    expect(page.status).toBe(400);
    expect(page.html).toContain('That code is not valid.');
    expect(parseForms(page.html)[0]?.fields).toMatchObject({ user_code: 'BCDF-BCDF', xsrf: expect.stringMatching(/^[0-9a-f]+$/) });
  });

  it('sends a /device/:uid reached without a sign-in to hand back (a stale or guessed link) to the code entry page, not a 500', async () => {
    for (const path of ['/device/auth', '/device/x0x0x0', '/device/x0x0x0/']) {
      for (const method of ['GET', 'HEAD']) {
        for (const cookie of [undefined, '_interaction_resume=x0x0x0', '_interaction_resume=x0x0x0; _interaction_resume.sig=forged']) {
          const response = await fetch(new URL(path, server.issuer), { method, redirect: 'manual', headers: cookie ? { cookie } : {} });
          expect([path, method, cookie, response.status, response.headers.get('location')]).toEqual([path, method, cookie, 303, '/device']);
        }
      }
    }
  });

  it('refuses a form without its xsrf token (CSRF), and the code stays pending', async () => {
    const config = await deviceConfig(tv.id);
    const authorization = await initiate(config, { scope: 'openid' });
    const ua = new UserAgent(new URL(server.issuer).origin);
    await ua.open('/device');
    const forged = expectPage(await ua.post('/device', new URLSearchParams({ user_code: authorization.user_code, confirm: 'yes' }), { 'x-forwarded-for': '198.51.100.8' }));
    expect(forged.status).toBe(400);
    expect(forged.html).toContain('This request could not be completed.');
    expect((await poll(authorization.device_code, tv.id)).body.error).toBe('authorization_pending');
  });

  it('answers the eleventh wrong code from one address with 429 and Retry-After, and other addresses are not held back', async () => {
    const from = { 'x-forwarded-for': '203.0.113.9' };
    const ua = new UserAgent(new URL(server.issuer).origin);
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect(expectPage(await enterCode(ua, 'ZZZZ-ZZZZ', from)).status, `attempt ${attempt}`).toBe(400);
    }
    const refused = expectPage(await enterCode(ua, 'ZZZZ-ZZZZ', from));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(h1(refused)).toBe('Too many codes tried');
    expect(refused.html).toContain('too_many_requests');
    // Elsewhere, a right code still works.
    const config = await deviceConfig(tv.id);
    const authorization = await initiate(config, { scope: 'openid' });
    const confirm = await enterCode(new UserAgent(new URL(server.issuer).origin), authorization.user_code, { 'x-forwarded-for': '203.0.113.10' });
    expect(h1(confirm)).toBe('Connect Living-room TV?');
  });

  it('speaks German to a German browser', async () => {
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = expectPage(await ua.open('/device', { headers: { 'accept-language': 'de' } }));
    expect(h1(page)).toBe('Gerät verbinden');
  });
});

describe('device authorization grant: logs', () => {
  it('never carry a device code or a user code (access log, audit lines, debug)', () => {
    expect(handedOut.length).toBeGreaterThan(20);
    expect(logLines.some((line) => line.includes('"audit":true') && line.includes('device.approved'))).toBe(true);
    const log = logLines.join('');
    for (const code of handedOut) expect(log).not.toContain(code);
  });
});
