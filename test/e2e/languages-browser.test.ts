// The sign-in pages in real Chromium set to German and to English: a browser
// whose language is German (Accept-Language from its locale, no ui_locales)
// gets the German login page, the German error for a wrong password, and a
// German consent page; an English browser gets English. Screenshots go to
// test-results/languages/ (login-de.png, login-en.png, …).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, VIEWPORTS } from '../helpers/browser.ts';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results', 'languages');
const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let browser: Browser;
let rp: RelyingParty;
let ada: { email: string };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer();
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  const callback = 'https://fotoalbum.example.test/cb';
  const created = await clients.create({ name: 'Fotoalbum', redirectUris: [callback] });
  rp = await createRelyingParty({ issuer: server.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: callback });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh profile in `locale` (Chromium sends it as Accept-Language), on the login page of a new request. */
async function loginPageIn(locale: string, viewport: { width: number; height: number } = VIEWPORTS.desktop, params: Record<string, string> = {}): Promise<Page> {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const request = await rp.authorizationRequest({ scope: 'openid profile email', ...params });
  await page.goto(request.url.href);
  return page;
}

const h1 = (page: Page) => page.locator('h1').innerText();
const htmlLang = (page: Page) => page.evaluate<string>('document.documentElement.lang');
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

describe('a German browser', () => {
  it('gets the login page in German, on a desktop and a phone', async () => {
    for (const [device, name] of [['desktop', 'login-de'], ['phone', 'login-de-phone']] as const) {
      const page = await loginPageIn('de-DE', VIEWPORTS[device]);
      expect(await htmlLang(page)).toBe('de');
      expect(await page.title()).toBe('Anmelden · Latchkey');
      expect(await h1(page)).toBe('Anmelden');
      expect(await page.getByText('um mit Fotoalbum fortzufahren').isVisible()).toBe(true);
      expect(await page.getByLabel('E-Mail').isVisible()).toBe(true);
      expect(await page.getByLabel('Passwort').isVisible()).toBe(true);
      expect(await page.getByRole('button').allInnerTexts()).toEqual(['Anmelden', 'Abbrechen', 'Mit einem Passkey anmelden']);
      await shot(page, name);
      await page.context().close();
    }
  });

  it('is told a wrong password in German, then sees the consent page in German', async () => {
    const page = await loginPageIn('de-DE');
    await page.getByLabel('E-Mail').fill(ada.email);
    await page.getByLabel('Passwort').fill('falsch');
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toBe('E-Mail oder Passwort ist falsch');
    await shot(page, 'login-de-error');

    await page.getByLabel('Passwort').fill(PASSWORD);
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
    await page.getByRole('button', { name: 'Erlauben' }).waitFor();
    expect(await h1(page)).toBe('Fotoalbum möchte auf Ihr Konto zugreifen');
    expect(await page.getByRole('listitem').allInnerTexts()).toEqual([
      'Die Angabe, welches Latchkey-Konto Sie verwenden (eine Kennung, nicht Ihre E-Mail-Adresse)',
      'Ihren Namen',
      'Ihre E-Mail-Adresse und ob sie bestätigt ist',
    ]);
    await shot(page, 'consent-de');
    await page.context().close();
  });
});

describe('an English browser', () => {
  it('gets the login page in English', async () => {
    const page = await loginPageIn('en-US');
    expect(await htmlLang(page)).toBe('en');
    expect(await h1(page)).toBe('Sign in');
    expect(await page.getByRole('button').allInnerTexts()).toEqual(['Sign in', 'Cancel', 'Sign in with a passkey']);
    await shot(page, 'login-en');
    await page.context().close();
  });

  it('gets German when the app asks for it with ui_locales', async () => {
    const page = await loginPageIn('en-US', VIEWPORTS.desktop, { ui_locales: 'de' });
    expect(await htmlLang(page)).toBe('de');
    expect(await h1(page)).toBe('Anmelden');
    await page.context().close();
  });
});
