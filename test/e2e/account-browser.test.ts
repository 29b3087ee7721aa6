// The account page in Chromium: /account in a fresh browser goes to the
// login page, signing in comes back to the account page (the built-in
// client's response_type=none round trip, with the state cookie set and
// read by a real browser), and the name form saves the name.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

it('signs in through /account and changes the name', async () => {
  const ada = await server.services.accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: PASSWORD });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.issuer}/account`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
    await page.fill('#email', ada.email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${server.issuer}/account`), page.click('button[type=submit]')]);
    expect(await page.locator('h1').textContent()).toBe('Your account');
    expect(await page.locator('#name').inputValue()).toBe('Ada Lovelace');

    await page.fill('#name', 'Ada King');
    await Promise.all([page.waitForURL(`${server.issuer}/account?done=name`), page.click('form[action="/account/name"] button')]);
    expect(await page.locator('.notice').textContent()).toBe('Your name was saved.');
    expect(await page.locator('#name').inputValue()).toBe('Ada King');
    expect((await server.services.accounts.findById(ada.id))!.name).toBe('Ada King');
  } finally {
    await context.close();
  }
});
