// The device flow (RFC 8628) with a person in real Chromium: openid-client
// plays the TV (initiateDeviceAuthorization, then pollDeviceAuthorizationGrant
// in the background), and the person types its code on /device, confirms it,
// signs in, consents and sees "You can return to your device" while the TV
// gets its tokens. Then verification_uri_complete (what the QR code holds):
// oidc-provider's hand-over form posts the code by itself under Latchkey's
// CSP, and the person still confirms it. No page may trip the CSP.
// Screenshots go to $SCREENSHOTS (device-code.png, device-consent.png,
// device-done.png, and device-confirm.png, device-denied-phone.png), else to test-results/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, VIEWPORTS, watchPage } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = process.env.SCREENSHOTS || path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');
const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let browser: Browser;
let config: oidc.Configuration;
let ada: { id: string; email: string };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer();
  const { accounts, clients } = server.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  const tv = await clients.create({ name: 'Living-room TV', public: true, grantTypes: ['device_code', 'refresh_token'] });
  config = await oidc.discovery(new URL(server.issuer), tv.client.clientId, { token_endpoint_auth_method: 'none' }, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openContext(viewport: (typeof VIEWPORTS)[keyof typeof VIEWPORTS] = VIEWPORTS.desktop): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = watchPage(page);
  return { context, page, problems };
}

const h1 = (page: Page) => page.locator('h1').innerText();
/** Nothing wider than the screen: a phone never scrolls sideways. */
const fitsWidth = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

async function signInAndAllow(page: Page, { screenshots = false } = {}) {
  await page.waitForURL(/\/interaction\//);
  expect(await h1(page)).toBe('Sign in');
  await page.getByLabel('Email').fill(ada.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/interaction\//);
  expect(await h1(page)).toBe('Living-room TV wants to access your account');
  expect(await page.getByText('your device will be told your answer').isVisible()).toBe(true);
  if (screenshots) await shot(page, 'device-consent');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/device\/[^/]+$/);
}

describe('the device flow in Chromium', () => {
  it('the person types the code on /device, signs in, consents, is told to return to the device, and the device gets tokens', async () => {
    const { context, page, problems } = await openContext();
    try {
      const authorization = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
      const tokens = oidc.pollDeviceAuthorizationGrant(config, authorization);

      await page.goto(authorization.verification_uri);
      expect(await h1(page)).toBe('Connect a device');
      // Typed as a person might: lower case, no dash.
      await page.getByLabel('Code').fill(authorization.user_code.replace('-', '').toLowerCase());
      await shot(page, 'device-code');
      await page.getByRole('button', { name: 'Continue' }).click();

      expect(await h1(page)).toBe('Connect Living-room TV?');
      expect(await page.locator('#user-code').innerText()).toBe(authorization.user_code);
      await shot(page, 'device-confirm');
      await page.getByRole('button', { name: 'Continue' }).click();

      await signInAndAllow(page, { screenshots: true });
      expect(await h1(page)).toBe('You are connected');
      expect(await page.getByText('You can return to your device.').isVisible()).toBe(true);
      await shot(page, 'device-done');

      const result = await tokens;
      expect(result.claims()?.sub).toBe(ada.id);
      expect(result.refresh_token).toEqual(expect.any(String));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('verification_uri_complete (on a phone, as from the QR code) pre-fills the code, and the person still confirms it (or cancels, and the device hears access_denied)', async () => {
    const { context, page, problems } = await openContext(VIEWPORTS.phone);
    try {
      const authorization = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
      await page.goto(authorization.verification_uri_complete!);
      // oidc-provider's hand-over page posts the code by itself (an inline script the CSP allows by its hash).
      await page.waitForURL(`${server.issuer}/device`);
      expect(await h1(page)).toBe('Connect Living-room TV?');
      expect(await page.locator('#user-code').innerText()).toBe(authorization.user_code);
      expect(await fitsWidth(page)).toBe(true);
      await page.getByRole('button', { name: 'Cancel' }).click();
      expect(await h1(page)).toBe('Device not connected');
      expect(await fitsWidth(page)).toBe(true);
      await shot(page, 'device-denied-phone');
      const refused = await oidc.pollDeviceAuthorizationGrant(config, authorization).then(
        () => 'tokens',
        (error: unknown) => (error instanceof oidc.ResponseBodyError ? error.error : String(error)),
      );
      expect(refused).toBe('access_denied');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
