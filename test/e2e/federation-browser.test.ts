// "Continue with <provider>" in real Chromium, Latchkey federating with a
// second Latchkey: an app's authorization request (openid-client as the RP),
// Latchkey's login page, the provider's button (found by its accessible
// name), the upstream's own login and consent, back to Latchkey's
// "Create account" confirmation, Latchkey's consent, and the app's callback
// with a code whose tokens say amr fed and idp <provider>. Then the linking
// page: an existing account, its password, the same tokens with pwd too.
// No page may trip the Content-Security-Policy. Screenshots go to test-results/.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, watchPage } from '../helpers/browser.ts';
import { registerProvider, startUpstreamLatchkey, UPSTREAM_PASSWORD, type UpstreamLatchkey } from '../helpers/federation.ts';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');
const PASSWORD = 'correct horse battery staple';

let downstream: TestServer;
let upstream: UpstreamLatchkey;
let browser: Browser;
let app: http.Server;
let appOrigin: string;
const appRequests: URL[] = [];
let rp: RelyingParty;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = http.createServer((req, res) => {
    appRequests.push(new URL(req.url!, appOrigin));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Photo Album</title><h1>Signed in to Photo Album</h1>');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', () => resolve()));
  appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  downstream = await startTestServer({ env: { LATCHKEY_SIGNUP: 'open' } });
  const created = await downstream.services.clients.create({ name: 'Photo Album', redirectUris: [`${appOrigin}/cb`] });
  rp = await createRelyingParty({ issuer: downstream.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: `${appOrigin}/cb` });
  upstream = await startUpstreamLatchkey(downstream, 'upstream');
  await registerProvider(downstream, { name: 'Upstream', slug: 'upstream', issuer: upstream.server.issuer, clientId: upstream.clientId, clientSecret: upstream.clientSecret });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await upstream?.stop();
  await downstream?.stop();
  await new Promise((resolve) => app?.close(resolve));
});

async function openContext() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watchPage(page);
  return { context, page, problems };
}

const h1 = (page: Page) => page.locator('h1').innerText();
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** At the upstream: its login page and its consent page, as the person sees them. */
async function atUpstream(page: Page, email: string) {
  await page.waitForURL(`${upstream.server.issuer}/interaction/**`);
  expect(await h1(page)).toBe('Sign in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(UPSTREAM_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${upstream.server.issuer}/interaction/**`);
  expect(await h1(page)).toBe('Downstream Latchkey wants to access your account');
  await page.getByRole('button', { name: 'Allow' }).click();
}

/** Latchkey's consent, Allow, the app's callback; the code exchanged by the RP. */
async function consentAndExchange(page: Page, request: Awaited<ReturnType<RelyingParty['authorizationRequest']>>) {
  await page.waitForURL(`${downstream.issuer}/interaction/**`);
  expect(await h1(page)).toBe('Photo Album wants to access your account');
  appRequests.length = 0;
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${appOrigin}/cb?**`);
  // Chromium asks the app for a favicon too: the callback is the request to /cb.
  return rp.exchange(appRequests.find((url) => url.pathname === '/cb')!, request);
}

describe('Chromium: Latchkey federating with a second Latchkey', () => {
  let context: BrowserContext;

  afterAll(async () => {
    await context?.close();
  });

  it('"Continue with Upstream", the upstream\'s login, "Create account", consent: the tokens say fed and Upstream', async () => {
    const opened = await openContext();
    context = opened.context;
    const { page, problems } = opened;
    await upstream.addPerson({ email: 'grace@example.test', name: 'Grace Hopper' });
    const request = await rp.authorizationRequest({ scope: 'openid profile email' });
    await page.goto(request.url.href);
    expect(await h1(page)).toBe('Sign in');
    const button = page.getByRole('button', { name: 'Continue with Upstream' });
    expect(await button.isVisible()).toBe(true);
    await shot(page, 'federation-login');
    await button.click();

    await atUpstream(page, 'grace@example.test');
    await page.waitForURL(`${downstream.issuer}/interaction/**/federation`);
    expect(await h1(page)).toBe('Create an account with Upstream');
    await shot(page, 'federation-create');
    await page.getByRole('button', { name: 'Create account' }).click();

    const tokens = await consentAndExchange(page, request);
    expect(tokens.claims()).toMatchObject({ amr: ['fed'], idp: 'Upstream' });
    expect(await rp.userinfo(tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email: 'grace@example.test', email_verified: true, name: 'Grace Hopper' });
    expect(problems).toEqual([]);
  });

  it('the linking page: an existing account, its password, then the app', async () => {
    const { context: linking, page, problems } = await openContext();
    try {
      const existing = await downstream.services.accounts.create({ email: 'ada@example.test', name: 'Ada', password: PASSWORD });
      await upstream.addPerson({ email: 'ada@example.test', name: 'Ada Lovelace' });
      const request = await rp.authorizationRequest({ scope: 'openid profile' });
      await page.goto(request.url.href);
      await page.getByRole('button', { name: 'Continue with Upstream' }).click();
      await atUpstream(page, 'ada@example.test');
      await page.waitForURL(`${downstream.issuer}/interaction/**/federation`);
      expect(await h1(page)).toBe('Link Upstream to your account');
      await shot(page, 'federation-link');
      await page.getByLabel('Password of this account').fill(PASSWORD);
      await page.getByRole('button', { name: 'Link and continue' }).click();
      const tokens = await consentAndExchange(page, request);
      expect(tokens.claims()).toMatchObject({ sub: existing.id, amr: ['fed', 'pwd'], idp: 'Upstream' });
      expect(problems).toEqual([]);
    } finally {
      await linking.close();
    }
  });
});
