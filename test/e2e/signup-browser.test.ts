// Sign-up in real Chromium: a relying party's authorization request, "Create
// an account", the form, "check your mail", the verify mail read from a real
// SMTP server in this process, its link opened in the same tab, consent, and
// the app's callback with a code whose tokens say email_verified: true. No
// page may trip the Content-Security-Policy. Screenshots of the sign-up and
// check-your-mail pages go to test-results/.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, VIEWPORTS, watchPage } from '../helpers/browser.ts';
import { freePort } from '../helpers/free-port.ts';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { eventually, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const SHOTS = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results');

let sink: SmtpSink;
let server: TestServer;
let browser: Browser;
let app: http.Server;
let appOrigin: string;
const callbacks: URL[] = [];
let rp: RelyingParty;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // The app's callback: records what it gets and says "signed in".
  const port = await freePort();
  appOrigin = `http://127.0.0.1:${port}`;
  app = http.createServer((req, res) => {
    callbacks.push(new URL(req.url!, appOrigin));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Photo Album</title><h1>Signed in to Photo Album</h1>');
  });
  await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', resolve));
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: sink.url, LATCHKEY_SIGNUP: 'open' } });
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

it('a person creates an account, follows the mailed link in the same tab, and lands on the app with a verified email', async () => {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  try {
    const page = await context.newPage();
    const problems = watchPage(page);

    const request = await rp.authorizationRequest({ scope: 'openid profile email' });
    await page.goto(request.url.href);
    expect(await page.locator('h1').innerText()).toBe('Sign in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/signup$/);
    expect(await page.locator('h1').innerText()).toBe('Create an account');

    await page.getByLabel('Email').fill('grace@example.test');
    await page.getByLabel('Name (optional)').fill('Grace Hopper');
    await page.getByLabel('Password').fill('nanoseconds in a wire');
    await shot(page, 'signup-desktop');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
    expect(await page.getByText('We sent a mail to grace@example.test.').isVisible()).toBe(true);
    await shot(page, 'verify-sent-desktop');

    await eventually(() => sink.to('grace@example.test').length === 1);
    const link = /https?:\/\/\S+\/verify\?token=[\w-]+/.exec(sink.to('grace@example.test')[0]!.text ?? '')![0];
    await page.goto(link);
    expect(await page.locator('h1').innerText()).toBe('Photo Album wants to access your account');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${appOrigin}/cb?**`);

    const callback = callbacks.find((url) => url.pathname === '/cb')!;
    expect(callback.searchParams.get('code')).toBeTruthy();
    const tokens = await rp.exchange(callback, request);
    expect(await rp.userinfo(tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email: 'grace@example.test', email_verified: true, name: 'Grace Hopper' });
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

const shot = (page: import('playwright-core').Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
