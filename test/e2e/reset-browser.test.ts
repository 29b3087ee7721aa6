// Forgot password in real Chromium, from a real relying party: the person
// opens the app's authorization URL, clicks "Forgot password?", submits the
// address, opens the link mailed to a real SMTP server in the same tab, sets
// a new password, is back on the app's sign-in page (told the password
// changed), signs in with it, allows, and lands at the redirect URI with a
// code openid-client exchanges. No page may trip the Content-Security-Policy.
// Screenshots of the forgot, sent and new-password pages go to test-results/.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, VIEWPORTS, watchPage } from '../helpers/browser.ts';
import { freePort } from '../helpers/free-port.ts';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');
const OLD_PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase for ada';

let sink: SmtpSink;
let server: TestServer;
let browser: Browser;
let app: http.Server;
let appOrigin: string;
const appRequests: URL[] = [];
let rp: RelyingParty;
let ada: { id: string; email: string };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  appOrigin = `http://127.0.0.1:${port}`;
  app = http.createServer((req, res) => {
    appRequests.push(new URL(req.url!, appOrigin));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Photo Album</title><h1>Signed in to Photo Album</h1>');
  });
  await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', () => resolve()));
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(sink.port) } });
  ada = await server.services.accounts.create({ email: 'ada@example.test', name: 'Ada Lovelace', password: OLD_PASSWORD });
  const created = await server.services.clients.create({ name: 'Photo Album', redirectUris: [`${appOrigin}/cb`] });
  rp = await createRelyingParty({ issuer: server.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: `${appOrigin}/cb` });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await sink?.close();
  await new Promise((resolve) => app?.close(resolve));
});

it('forgot password → mail → new password → sign in → code at the redirect URI', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  const page = await context.newPage();
  const problems = watchPage(page);
  const h1 = () => page.locator('h1').innerText();

  try {
    const request = await rp.authorizationRequest({ scope: 'openid email' });
    await page.goto(request.url.href);
    expect(await h1()).toBe('Sign in');
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(/\/forgot$/);
    expect(await h1()).toBe('Forgot your password?');
    await page.screenshot({ path: path.join(SHOTS, 'reset-forgot.png'), fullPage: true });
    await page.getByLabel('Email').fill(ada.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.waitForURL(/\/forgot$/);
    expect(await h1()).toBe('Check your mail');
    await page.screenshot({ path: path.join(SHOTS, 'reset-sent.png'), fullPage: true });

    const until = Date.now() + 10_000;
    while (sink.received.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    const link = /(http:\/\/\S+\/reset\?token=[A-Za-z0-9_-]{43})/.exec(sink.received[0]?.text ?? '')?.[1];
    expect(link).toBeDefined();

    await page.goto(link!);
    expect(await h1()).toBe('Choose a new password');
    await page.screenshot({ path: path.join(SHOTS, 'reset-new-password.png'), fullPage: true });
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.waitForURL(/\/login\?reset=done$/);
    expect(await h1()).toBe('Sign in');
    expect(await page.getByRole('status').innerText()).toBe('Your password was changed; sign in with the new one.');

    await page.getByLabel('Email').fill(ada.email);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/interaction\//);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${appOrigin}/cb?**`);
    const callback = appRequests.find((url) => url.pathname === '/cb')!;
    const tokens = await rp.exchange(callback, request);
    expect(tokens.claims()!.sub).toBe(ada.id);
    // Following the mailed link proved the mailbox.
    expect(await rp.userinfo(tokens.access_token, ada.id)).toMatchObject({ email: ada.email, email_verified: true });
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});
