// "Login with Latchkey" in real Chromium: a person opens a relying party's
// authorization request, signs in, sees the consent page, allows, and lands
// on the app's callback (a small app on another loopback origin) with a code
// that openid-client exchanges. Also: a wrong password, keyboard order, and
// logout with and without a session. No page may trip the Content-Security-
// Policy (Chromium applies form-action to the redirects after each form).
// Screenshots of every page, on a phone and a desktop, go to test-results/.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, VIEWPORTS, watchPage } from '../helpers/browser.ts';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');
const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let browser: Browser;
let appServers: http.Server[] = [];
let appOrigin: string;
let homeOrigin: string;
const appRequests: URL[] = [];
let rp: RelyingParty;
let ada: { id: string; email: string };

/**
 * The relying party's web app. Like many real apps, it takes the callback on
 * one origin and then sends the person on to another (here: another port),
 * which a CSP form-action on Latchkey's forms would block in Chromium.
 */
async function startApp(callbackPort: number, homePort: number) {
  const callbackOrigin = `http://127.0.0.1:${callbackPort}`;
  homeOrigin = `http://127.0.0.1:${homePort}`;
  const pages: Record<string, string> = { '/home': 'Signed in to Photo Album', '/signed-out': 'Signed out of Photo Album' };
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url!, `http://${req.headers.host}`);
    appRequests.push(url);
    const next = { '/cb': '/home', '/bye': '/signed-out' }[url.pathname];
    if (next) {
      res.writeHead(302, { location: `${homeOrigin}${next}${url.pathname === '/bye' ? url.search : ''}` }).end();
      return;
    }
    const title = pages[url.pathname];
    res.writeHead(title ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>${title ?? 'Not found'}</title><h1>${title ?? 'Not found'}</h1>`);
  };
  const listen = (port: number) => new Promise<http.Server>((resolve) => {
    const listener = http.createServer(handler);
    listener.listen(port, '127.0.0.1', () => resolve(listener));
  });
  appServers = [await listen(callbackPort), await listen(homePort)];
  return callbackOrigin;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  appOrigin = await startApp(await freePort(), await freePort());
  server = await startTestServer();
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  const created = await clients.create({ name: 'Photo Album', redirectUris: [`${appOrigin}/cb`], postLogoutRedirectUris: [`${appOrigin}/bye`] });
  rp = await createRelyingParty({ issuer: server.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: `${appOrigin}/cb` });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  for (const listener of appServers) await new Promise((resolve) => listener.close(resolve));
});

/** A fresh browser profile (no cookies) that records every CSP violation and page error. */
async function openContext(viewport: (typeof VIEWPORTS)[keyof typeof VIEWPORTS]) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = watchPage(page);
  return { context, page, problems };
}

const h1 = (page: Page) => page.locator('h1').innerText();
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
/** Nothing wider than the screen: a phone never scrolls sideways. */
const fitsWidth = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
// Scripts evaluated in the page are strings: this project compiles without the DOM library.
const focusedControl = (page: Page) => page.evaluate<string>("document.activeElement.id || document.activeElement.textContent.trim()");

async function signIn(page: Page, email = ada.email, password = PASSWORD) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe.each(['phone', 'desktop'] as const)('on a %s', (device) => {
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    ({ context, page, problems } = await openContext(VIEWPORTS[device]));
  });

  afterAll(async () => {
    await context?.close();
  });

  it('a person signs in, sees consent, allows, and lands on the app with a code', async () => {
    const request = await rp.authorizationRequest({ scope: 'openid profile email' });
    await page.goto(request.url.href);
    expect(await h1(page)).toBe('Sign in');
    expect(await page.getByText('to continue to Photo Album').isVisible()).toBe(true);
    expect(await fitsWidth(page)).toBe(true);
    await shot(page, `login-${device}`);

    await signIn(page);
    await page.waitForURL(/\/interaction\//);
    expect(await h1(page)).toBe('Photo Album wants to access your account');
    expect(await page.getByRole('listitem').allInnerTexts()).toEqual([
      'Know which Latchkey account you use (an identifier, not your email)',
      'Your name',
      'Your email address, and whether it is verified',
    ]);
    expect(await fitsWidth(page)).toBe(true);
    await shot(page, `consent-${device}`);

    appRequests.length = 0;
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${homeOrigin}/home`);
    expect(await h1(page)).toBe('Signed in to Photo Album');

    const callback = appRequests.find((url) => url.pathname === '/cb')!;
    expect(callback.searchParams.get('state')).toBe(request.state);
    const tokens = await rp.exchange(callback, request);
    expect(tokens.claims()!.sub).toBe(ada.id);
    expect(await rp.userinfo(tokens.access_token, ada.id)).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.test' });
    expect(problems).toEqual([]);
  });

  it('signs out from the confirmation page and returns to the app', async () => {
    await page.goto(rp.endSessionUrl({ post_logout_redirect_uri: `${appOrigin}/bye`, state: `bye-${device}` }).href);
    expect(await h1(page)).toBe('Sign out?');
    expect(await fitsWidth(page)).toBe(true);
    await shot(page, `logout-${device}`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${homeOrigin}/signed-out?state=bye-${device}`);
    expect(await h1(page)).toBe('Signed out of Photo Album');

    // Signed out for real: the next request asks for the password again.
    await page.goto((await rp.authorizationRequest()).url.href);
    expect(await h1(page)).toBe('Sign in');
    expect(problems).toEqual([]);
  });
});

describe('the login page', () => {
  it('shows the error for a wrong password, keeps the email, and focuses the password', async () => {
    const { context, page, problems } = await openContext(VIEWPORTS.phone);
    await page.goto((await rp.authorizationRequest()).url.href);
    await signIn(page, 'ada@example.test', 'not the password');
    await page.waitForLoadState();
    expect(await h1(page)).toBe('Sign in');
    expect(await page.getByRole('alert').innerText()).toBe('Invalid email or password');
    expect(await page.getByLabel('Email').inputValue()).toBe('ada@example.test');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    // autofocus is applied at the page's next rendering step, not by load itself.
    await expect.poll(() => focusedControl(page)).toBe('password');
    await shot(page, 'login-error-phone');

    // The same page then signs the person in.
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/interaction\//);
    expect(await h1(page)).toMatch(/wants to access your account$/);
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await context.close();
  });

  it('is usable with the keyboard alone: email, password, Sign in, Cancel, in that order', async () => {
    const { context, page } = await openContext(VIEWPORTS.desktop);
    await page.goto((await rp.authorizationRequest()).url.href);
    const focused = () => focusedControl(page);
    await expect.poll(focused).toBe('email');
    const order = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual(['password', 'Sign in', 'Cancel']);
    // A visible focus ring on the focused control.
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).toBe('solid');

    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type(ada.email);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/interaction\//);
    expect(await h1(page)).toMatch(/wants to access your account$/);
    await context.close();
  });

  it('Cancel and Deny send the person back to the app with access_denied', async () => {
    const { context, page, problems } = await openContext(VIEWPORTS.desktop);
    for (const [button, needsLogin] of [['Cancel', false], ['Deny', true]] as const) {
      const request = await rp.authorizationRequest({ scope: 'openid email', prompt: 'consent' });
      await page.goto(request.url.href);
      if (needsLogin && (await h1(page)) === 'Sign in') {
        await signIn(page);
        await page.waitForURL(/\/interaction\//);
      }
      appRequests.length = 0;
      await page.getByRole('button', { name: button }).click();
      await page.waitForURL(`${homeOrigin}/home`);
      const callback = appRequests.find((url) => url.pathname === '/cb')!;
      expect(callback.searchParams.get('error'), button).toBe('access_denied');
      expect(callback.searchParams.get('state')).toBe(request.state);
    }
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('logout without a session', () => {
  it('goes straight back to the app (oidc-provider\'s auto-submitting page runs under our CSP)', async () => {
    const { context, page, problems } = await openContext(VIEWPORTS.desktop);
    await page.goto(rp.endSessionUrl({ client_id: rp.config.clientMetadata().client_id, post_logout_redirect_uri: `${appOrigin}/bye`, state: 'none' }).href);
    await page.waitForURL(`${homeOrigin}/signed-out?state=none`);
    expect(await h1(page)).toBe('Signed out of Photo Album');
    expect(problems).toEqual([]);
    await context.close();
  });
});
