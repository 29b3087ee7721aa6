// Passkeys in real Chromium with a virtual authenticator (DevTools Protocol
// WebAuthn domain): a person signs in to /account with the password,
// registers a passkey, and later signs in to a relying party with it alone
// (discoverable credential, user verification), consents, and the app's
// tokens say amr hwk/user/mfa. Then, over HTTP with the credential's private
// key exported from the authenticator, the refusals: a wrong origin, a stale
// sign counter (a cloned credential), a replayed challenge, no form token, a
// disabled account, a removed passkey. Screenshots go to test-results/.
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { launchChromium, watchPage } from '../helpers/browser.ts';
import { freePort } from '../helpers/free-port.ts';
import { createRelyingParty, expectPage, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');
const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let browser: Browser;
let rp: RelyingParty;
let appOrigin: string;
let ada: { id: string; email: string };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  appOrigin = `http://127.0.0.1:${await freePort()}`;
  // WebAuthn needs a domain for the RP ID (an IP address is none): the issuer is localhost here.
  server = await startTestServer({ issuerHost: 'localhost' });
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  const created = await clients.create({ name: 'Photo Album', redirectUris: [`${appOrigin}/cb`] });
  rp = await createRelyingParty({ issuer: server.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: `${appOrigin}/cb` });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface VirtualCredential {
  credentialId: string;
  privateKey: string;
  rpId: string;
  signCount: number;
  userHandle?: string;
}

async function withAuthenticator(): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string; problems: string[] }> {
  const context = await browser.newContext();
  // The app's callback: nothing needs to listen there, the browser only has to arrive.
  await context.route(`${appOrigin}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><h1>App</h1>' }));
  const page = await context.newPage();
  const problems = watchPage(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { context, page, cdp, authenticatorId, problems };
}

let exported: VirtualCredential;

it('registers a passkey on the account page, then signs in with it alone from a relying party to tokens', async () => {
  const { context, page, cdp, authenticatorId, problems } = await withAuthenticator();
  try {
    await page.goto(`${server.issuer}/account`);
    await page.fill('#email', ada.email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${server.issuer}/account`), page.click('button[type=submit]')]);
    expect(await page.locator('#passkeys .muted').last().innerText()).toBe('You have no passkeys yet.');

    await page.fill('#passkey-name', 'Laptop');
    await Promise.all([page.waitForURL(`${server.issuer}/account?done=passkey`), page.getByRole('button', { name: 'Add a passkey' }).click()]);
    expect(await page.locator('.notice').innerText()).toBe('Your passkey was added.');
    expect(await page.locator('#passkeys strong').allInnerTexts()).toEqual(['Laptop']);
    await page.locator('#passkeys').screenshot({ path: path.join(SHOTS, 'passkey-account-section.png') });
    const stored = await server.services.passkeys.list(ada.id);
    expect(stored.map((p) => p.name)).toEqual(['Laptop']);

    // Signed out: the same browser (and authenticator) with no cookies.
    await context.clearCookies();
    const request = await rp.authorizationRequest({ scope: 'openid', claims: JSON.stringify({ id_token: { amr: null, acr: null } }) });
    await page.goto(request.url.href);
    expect(await page.locator('h1').innerText()).toBe('Sign in');
    expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'passkey-login.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(/\/interaction\//);
    await expect.poll(() => page.locator('h1').innerText()).toBe('Photo Album wants to access your account');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(new RegExp(`^${appOrigin}/cb\\?`));
    const tokens = await rp.exchange(new URL(page.url()), request);
    const idToken = decodeJwt(tokens.id_token!);
    expect(idToken.sub).toBe(ada.id);
    // A passkey with user verification is two factors on its own (RFC 8176: hwk + user): the MFA level, no code asked.
    expect(idToken.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(idToken.acr).toBe('urn:latchkey:acr:mfa');
    await expect.poll(async () => (await server.services.audit.list({ types: ['passkey.signed_in'] })).map((event) => event.subject)).toEqual([ada.id]);
    expect(problems).toEqual([]);

    const { credentials } = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: VirtualCredential[] };
    expect(credentials).toHaveLength(1);
    exported = credentials[0]!;
    const [row] = await server.services.passkeys.list(ada.id);
    expect(row!.lastUsedAt).not.toBeNull();
  } finally {
    await context.close();
  }
});

/** A sign-in page over HTTP: its interaction cookie and its form token, for the JSON endpoints. */
async function loginPage() {
  const request = await rp.authorizationRequest();
  const ua = rp.browser.constructor as unknown as new (origin: string) => typeof rp.browser;
  const agent = new ua(new URL(server.issuer).origin);
  const page = expectPage(await agent.open(request.url));
  const uid = /data-uid="([^"]+)"/.exec(page.html)![1]!;
  const token = /data-token="([^"]+)"/.exec(page.html)![1]!;
  const call = async (what: 'options' | 'verify', body: unknown) => {
    const url = new URL(`/interaction/${uid}/passkey/${what}`, server.issuer);
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie: agent.jar.header(url) ?? '' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { error?: string; redirect?: string; options?: { challenge: string } } };
  };
  return { token, call };
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** An assertion signed with the exported private key, as an authenticator would make it (or a forger with the key). */
function assertion(challenge: string, options: { origin?: string; counter: number; credential?: VirtualCredential }) {
  const credential = options.credential ?? exported;
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: options.origin ?? new URL(server.issuer).origin, crossOrigin: false }));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(options.counter);
  const authenticatorData = Buffer.concat([createHash('sha256').update(credential.rpId).digest(), Buffer.from([0x05]), counter]);
  const key = createPrivateKey({ key: Buffer.from(credential.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  // ECDSA and RSA take SHA-256; EdDSA and ML-DSA (which Chromium may pick) hash internally.
  const signature = sign(key.asymmetricKeyType === 'ec' || key.asymmetricKeyType === 'rsa' ? 'sha256' : null, Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), key);
  const id = b64(Buffer.from(credential.credentialId, 'base64'));
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON: b64(clientDataJSON), authenticatorData: b64(authenticatorData), signature: b64(signature), ...(credential.userHandle ? { userHandle: b64(Buffer.from(credential.userHandle, 'base64')) } : {}) },
    clientExtensionResults: {},
  };
}

it('refuses a wrong origin, a stale counter (a clone), a replayed challenge and a missing form token; accepts the real next use', async () => {
  expect(exported).toBeDefined();
  const { token, call } = await loginPage();
  const next = () => exported.signCount + 1;

  // No form token: 403 before anything else.
  expect(await call('options', {})).toEqual({ status: 403, body: { error: 'invalid_form_token' } });

  const cases: [string, (challenge: string) => ReturnType<typeof assertion>][] = [
    ['a wrong origin', (c) => assertion(c, { origin: `http://127.0.0.1:${new URL(server.issuer).port}`, counter: next() })],
    ['a stale counter (a cloned credential)', (c) => assertion(c, { counter: exported.signCount })],
    ['a counter that went back', (c) => assertion(c, { counter: 0 })],
  ];
  for (const [what, make] of cases) {
    const { body } = await call('options', { token });
    expect(await call('verify', { token, response: make(body.options!.challenge) }), what).toEqual({ status: 400, body: { error: 'failed' } });
  }

  // A challenge is spent by its first answer, even a refused one: the right assertion over it is refused too.
  const { body: spent } = await call('options', { token });
  await call('verify', { token, response: assertion(spent.options!.challenge, { origin: 'http://evil.test', counter: next() }) });
  expect(await call('verify', { token, response: assertion(spent.options!.challenge, { counter: next() }) })).toEqual({ status: 400, body: { error: 'failed' } });

  // The real next use signs in.
  const { body: fresh } = await call('options', { token });
  const ok = await call('verify', { token, response: assertion(fresh.options!.challenge, { counter: next() }) });
  expect(ok.status).toBe(200);
  expect(ok.body.redirect).toMatch(new RegExp(`^${server.issuer}/`));
  // Replaying that same answer: the challenge is gone.
  const replay = await call('verify', { token, response: assertion(fresh.options!.challenge, { counter: next() + 1 }) });
  expect(replay.status).toBe(400);
  exported = { ...exported, signCount: next() };

  // The server writes audit events in batches: wait for them.
  await expect.poll(async () => (await server.services.audit.list({ types: ['passkey.failed'] })).length).toBeGreaterThanOrEqual(5);
});

it('refuses the passkey of a disabled account, and a removed passkey', async () => {
  const next = () => exported.signCount + 1;
  await server.services.accounts.disable(ada.id);
  {
    const { token, call } = await loginPage();
    const { body } = await call('options', { token });
    expect(await call('verify', { token, response: assertion(body.options!.challenge, { counter: next() }) })).toEqual({ status: 400, body: { error: 'failed' } });
  }
  await server.services.accounts.enable(ada.id);
  const [passkey] = await server.services.passkeys.list(ada.id);
  expect(await server.services.passkeys.remove(ada.id, passkey!.id)).toBe(true);
  {
    const { token, call } = await loginPage();
    const { body } = await call('options', { token });
    expect(await call('verify', { token, response: assertion(body.options!.challenge, { counter: next() + 1 }) })).toEqual({ status: 400, body: { error: 'failed' } });
  }
});
