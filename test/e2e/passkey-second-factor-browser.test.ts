// A passkey as the second factor after a password, in real Chromium with a
// virtual authenticator: an account whose only second factor is a passkey is
// asked for it after its password (a page with no code input), answers with
// the passkey, and the relying party's ID token says amr pwd+hwk+mfa at the
// MFA level. Then the same passkey alone from the login page ("Sign in with a
// passkey"): login.success is audited and the browser is remembered (device
// cookie), as after a password. And an account with an authenticator app:
// its enrolment (the QR code) and its code prompt; with a passkey too, the
// prompt offers both and the passkey answers. And an account with no second
// factor, asked for the MFA level: it sets up an app inside the sign-in.
// Screenshots of the pages go to test-results/ (18-*.png).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { launchChromium, watchPage } from '../helpers/browser.ts';
import { freePort } from '../helpers/free-port.ts';
import { codeAt } from '../helpers/mfa.ts';
import { createRelyingParty, expectPage, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');
const PASSWORD = 'correct horse battery staple';
const ID_TOKEN_CLAIMS = JSON.stringify({ id_token: { amr: null, acr: null } });

let server: TestServer;
let browser: Browser;
let rp: RelyingParty;
let appOrigin: string;
let bob: { id: string; email: string };
let carol: { id: string; email: string };
/** Carol's authenticator app, set up in a test below. */
let carolSecret = '';
let context: BrowserContext;
let page: Page;
let problems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  appOrigin = `http://127.0.0.1:${await freePort()}`;
  // WebAuthn needs a domain for the RP ID (an IP address is none): the issuer is localhost here.
  server = await startTestServer({ issuerHost: 'localhost' });
  const { accounts, clients } = server.services;
  bob = await accounts.create({ email: 'bob@example.test', name: 'Bob Babbage', password: PASSWORD });
  carol = await accounts.create({ email: 'carol@example.test', name: 'Carol Hopper', password: PASSWORD });
  const created = await clients.create({ name: 'Photo Album', redirectUris: [`${appOrigin}/cb`] });
  rp = await createRelyingParty({ issuer: server.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: `${appOrigin}/cb` });
  browser = await launchChromium();
  context = await browser.newContext();
  await context.route(`${appOrigin}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><h1>App</h1>' }));
  page = await context.newPage();
  problems = watchPage(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

async function signInToAccountPage(email: string) {
  await page.goto(`${server.issuer}/account`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${server.issuer}/account`), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}

const auditOf = async (type: 'login.success' | 'mfa.verified', subject: string) =>
  (await server.services.audit.list({ types: [type] })).filter((event) => event.subject === subject).map((event) => event.details);

it('asks an account whose only second factor is a passkey for it after the password, and the ID token says pwd+hwk+mfa', async () => {
  await signInToAccountPage(bob.email);
  await page.fill('#passkey-name', 'Security key');
  await Promise.all([page.waitForURL(`${server.issuer}/account?done=passkey`), page.getByRole('button', { name: 'Add a passkey' }).click()]);
  expect(await server.services.mfa.hasSecondFactor(bob.id)).toBe(true);

  await context.clearCookies();
  const request = await rp.authorizationRequest({ scope: 'openid', claims: ID_TOKEN_CLAIMS });
  await page.goto(request.url.href);
  expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(true);
  await page.screenshot({ path: path.join(SHOTS, '18-login-passkey.png'), fullPage: true });
  await page.fill('#email', bob.email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  await expect.poll(() => page.locator('h1').innerText()).toBe('Confirm it is you');
  // No authenticator app: no code to type, only the passkey.
  expect(await page.locator('#code').count()).toBe(0);
  await page.getByRole('button', { name: 'Use a passkey', exact: true }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Photo Album wants to access your account');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(new RegExp(`^${appOrigin}/cb\\?`));
  const idToken = decodeJwt((await rp.exchange(new URL(page.url()), request)).id_token!);
  expect(idToken.sub).toBe(bob.id);
  expect(idToken.amr).toEqual(['pwd', 'hwk', 'mfa']);
  expect(idToken.acr).toBe('urn:latchkey:acr:mfa');
  // The server writes audit events in batches: wait for them.
  await expect.poll(() => auditOf('mfa.verified', bob.id)).toEqual([{ method: 'passkey' }]);
  // The account page's own sign-in (before the passkey) and this one.
  await expect.poll(() => auditOf('login.success', bob.id)).toEqual([{ method: 'pwd' }, { method: 'pwd' }]);
  expect(problems).toEqual([]);
});

it('signs in with the passkey alone: audited as login.success, and the browser is remembered like after a password', async () => {
  await context.clearCookies();
  const request = await rp.authorizationRequest({ scope: 'openid', claims: ID_TOKEN_CLAIMS });
  await page.goto(request.url.href);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Photo Album wants to access your account');
  await page.screenshot({ path: path.join(SHOTS, '18-passkey-signed-in.png'), fullPage: true });
  expect((await context.cookies(server.issuer + '/interaction/')).map((cookie) => cookie.name)).toContain('latchkey.device');
  await expect.poll(async () => (await auditOf('login.success', bob.id)).filter((details) => details?.method === 'passkey')).toHaveLength(1);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(new RegExp(`^${appOrigin}/cb\\?`));
  const idToken = decodeJwt((await rp.exchange(new URL(page.url()), request)).id_token!);
  expect(idToken.amr).toEqual(['hwk', 'user', 'mfa']);
  expect(problems).toEqual([]);
});

it('refuses the second-factor endpoints to a sign-in that is not waiting for one, and names only the waiting account’s passkeys', async () => {
  const request = await rp.authorizationRequest();
  const ua = rp.browser.constructor as unknown as new (origin: string) => typeof rp.browser;
  const agent = new ua(new URL(server.issuer).origin);
  const login = expectPage(await agent.open(request.url));
  const token = /data-token="([^"]+)"/.exec(login.html)![1]!;
  const uid = /data-uid="([^"]+)"/.exec(login.html)![1]!;
  const call = async (body: unknown) => {
    const url = new URL(`/interaction/${uid}/passkey-mfa/options`, server.issuer);
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie: agent.jar.header(url) ?? '' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { error?: string; options?: { allowCredentials?: { id: string }[] } } };
  };
  expect(await call({})).toEqual({ status: 403, body: { error: 'invalid_form_token' } });
  // Before the password: nobody to ask a second factor of.
  expect(await call({ token })).toEqual({ status: 400, body: { error: 'expired' } });
  const prompt = expectPage(await agent.submit(login, { email: bob.email, password: PASSWORD }));
  expect(prompt.html).toContain('id="passkey-second-factor"');
  const { status, body } = await call({ token });
  expect(status).toBe(200);
  expect(body.options!.allowCredentials!.map((c) => c.id)).toEqual((await server.services.passkeys.list(bob.id)).map((p) => p.id));
});

it('shows an authenticator app’s QR code at enrolment, and its code prompt at the next sign-in', async () => {
  await context.clearCookies();
  await signInToAccountPage(carol.email);
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await page.waitForSelector('#totp-secret');
  await page.screenshot({ path: path.join(SHOTS, '18-totp-enrol.png'), fullPage: true });
  const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
  carolSecret = secret;
  await page.fill('#totp-code', codeAt(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect.poll(() => server.services.mfa.hasSecondFactor(carol.id)).toBe(true);

  await context.clearCookies();
  const request = await rp.authorizationRequest();
  await page.goto(request.url.href);
  await page.fill('#email', carol.email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Enter your code');
  expect(await page.locator('#code').isVisible()).toBe(true);
  // No passkey: no passkey button.
  expect(await page.locator('#passkey-second-factor').count()).toBe(0);
  await page.screenshot({ path: path.join(SHOTS, '18-mfa-prompt.png'), fullPage: true });
  expect(problems).toEqual([]);
});

it('offers both at the prompt of an account with an app and a passkey, and the passkey answers for the code', async () => {
  await context.clearCookies();
  // The account page asks for Carol's app code after her password (the next step's code: the last one was used).
  await page.goto(`${server.issuer}/account`);
  await page.fill('#email', carol.email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Enter your code');
  await page.fill('#code', codeAt(carolSecret, 1));
  await Promise.all([page.waitForURL(`${server.issuer}/account`), page.getByRole('button', { name: 'Continue' }).click()]);
  await page.fill('#passkey-name', 'Laptop');
  await Promise.all([page.waitForURL(`${server.issuer}/account?done=passkey`), page.getByRole('button', { name: 'Add a passkey' }).click()]);

  await context.clearCookies();
  const request = await rp.authorizationRequest({ scope: 'openid', claims: ID_TOKEN_CLAIMS });
  await page.goto(request.url.href);
  await page.fill('#email', carol.email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Enter your code');
  expect(await page.locator('#code').isVisible()).toBe(true);
  const instead = page.getByRole('button', { name: 'Use a passkey instead' });
  await expect.poll(() => instead.isVisible()).toBe(true);
  await page.screenshot({ path: path.join(SHOTS, '18-mfa-prompt-both.png'), fullPage: true });
  await instead.click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Photo Album wants to access your account');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(new RegExp(`^${appOrigin}/cb\\?`));
  const idToken = decodeJwt((await rp.exchange(new URL(page.url()), request)).id_token!);
  expect(idToken.amr).toEqual(['pwd', 'hwk', 'mfa']);
  expect(problems).toEqual([]);
});

it('sets up an authenticator app inside a sign-in that asks the MFA level of an account with no second factor', async () => {
  const dave = await server.services.accounts.create({ email: 'dave@example.test', name: 'Dave Dijkstra', password: PASSWORD });
  await context.clearCookies();
  const request = await rp.authorizationRequest({ scope: 'openid', acr_values: 'urn:latchkey:acr:mfa', claims: ID_TOKEN_CLAIMS });
  await page.goto(request.url.href);
  await page.fill('#email', dave.email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Set up two-step sign-in');
  expect(await page.locator('figure.qr svg').isVisible()).toBe(true);
  await page.screenshot({ path: path.join(SHOTS, '18-enrol-in-sign-in.png'), fullPage: true });
  const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
  await page.fill('#code', codeAt(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect.poll(() => page.locator('ul.recovery-codes li').count()).toBe(10);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect.poll(() => page.locator('h1').innerText()).toBe('Photo Album wants to access your account');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(new RegExp(`^${appOrigin}/cb\\?`));
  const idToken = decodeJwt((await rp.exchange(new URL(page.url()), request)).id_token!);
  expect(idToken).toMatchObject({ sub: dave.id, amr: ['pwd', 'otp', 'mfa'], acr: 'urn:latchkey:acr:mfa' });
  expect(problems).toEqual([]);
});
