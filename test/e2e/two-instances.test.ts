// Two Latchkey servers on one database behind a small round-robin proxy (one
// issuer URL), driven by a real browser (Chromium). A person signs in and
// consents while every page and form of the flow goes to the other instance
// than the one before, and the app gets its tokens. Then someone guesses a
// password through the same proxy: the guesses land on both instances, so
// neither saw five of them, yet the sixth attempt is throttled, because the
// count lives in the shared database.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, VIEWPORTS } from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';

interface Served {
  readonly instance: 'A' | 'B';
  readonly method: string;
  readonly path: string;
}

let database: TestDatabase;
const instances: TestServer[] = [];
let balancer: http.Server;
let app: http.Server;
const served: Served[] = [];
let browser: Browser;
let rp: RelyingParty;
let appOrigin: string;
const appRequests: URL[] = [];
let ada: { id: string; email: string };

/**
 * Round robin over the requests of the flow. The stylesheet (which a browser
 * may or may not fetch again) always goes to A and is not counted, so that
 * the pages and forms alternate strictly whatever the cache does.
 */
function startBalancer(port: number) {
  let turn = 0;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url!, 'http://balancer').pathname;
    const asset = path.startsWith('/static/') || path === '/favicon.ico';
    const index = asset ? 0 : turn++ % 2;
    if (!asset) served.push({ instance: index === 0 ? 'A' : 'B', method: req.method!, path });
    const upstream = http.request(
      { host: '127.0.0.1', port: instances[index]!.config.port, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode!, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise<http.Server>((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** The relying party's web app: its callback records the code and shows a page. */
function startApp(port: number) {
  const server = http.createServer((req, res) => {
    appRequests.push(new URL(req.url!, appOrigin));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Photo Album</title><h1>Back in Photo Album</h1>');
  });
  return new Promise<http.Server>((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  // What a deployment shares: the database, the issuer URL, the master secret.
  const env = { ISSUER: issuer, LATCHKEY_SECRET: randomBytes(32).toString('base64url') };
  instances.push(await startTestServer({ database, env }));
  instances.push(await startTestServer({ database, env }));
  balancer = await startBalancer(port);
  const appPort = await freePort();
  appOrigin = `http://127.0.0.1:${appPort}`;
  app = await startApp(appPort);

  const { accounts, clients } = instances[0]!.services;
  ada = await accounts.create({ email: 'ada@example.test', name: 'Ada', password: PASSWORD });
  await accounts.create({ email: 'grace@example.test', name: 'Grace', password: PASSWORD });
  const created = await clients.create({ name: 'Photo Album', redirectUris: [`${appOrigin}/cb`] });
  rp = await createRelyingParty({ issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: `${appOrigin}/cb` });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const server of [balancer, app]) if (server) await new Promise((resolve) => server.close(resolve));
  for (const instance of instances) await instance.stop();
  await database?.drop();
});

async function openPage(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.location().url.endsWith('/favicon.ico')) return;
    // A refused sign-in is a page with an error status, which Chromium reports; anything else is a problem.
    if (/status of (400|429)/.test(message.text())) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems, close: () => context.close() };
}

const h1 = (page: Page) => page.locator('h1').innerText();

/** Fills the login form and presses Sign in; resolves to the status of the form's POST. */
async function submitLogin(page: Page, email: string, password: string): Promise<number> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => candidate.request().method() === 'POST' && candidate.url().endsWith('/login')),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  await page.waitForLoadState();
  return response.status();
}

describe('two instances behind a round-robin proxy, in Chromium', () => {
  it('signs a person in and through consent with every request going to the other instance than the last', async () => {
    const { page, problems, close } = await openPage();
    const request = await rp.authorizationRequest({ scope: 'openid profile' });
    served.length = 0;
    await page.goto(request.url.href);
    expect(await h1(page)).toBe('Sign in');
    expect(await submitLogin(page, ada.email, PASSWORD)).toBe(303);
    await page.waitForURL(/\/interaction\//);
    expect(await h1(page)).toBe('Photo Album wants to access your account');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${appOrigin}/cb?**`);
    expect(await h1(page)).toBe('Back in Photo Album');

    const flow = [...served];
    // /auth, the login page, its POST, the resume, the consent page, its POST, the final resume.
    expect(flow.map((entry) => `${entry.method} ${entry.path.replace(/\/[\w-]{20,}/g, '/:uid')}`)).toEqual([
      'GET /auth',
      'GET /interaction/:uid',
      'POST /interaction/:uid/login',
      'GET /auth/:uid',
      'GET /interaction/:uid',
      'POST /interaction/:uid/consent',
      'GET /auth/:uid',
    ]);
    flow.forEach((entry, index) => {
      if (index > 0) expect(entry.instance).not.toBe(flow[index - 1]!.instance);
    });

    const callback = appRequests.findLast((url) => url.pathname === '/cb')!;
    const tokens = await rp.exchange(callback, request);
    expect(tokens.claims()).toMatchObject({ sub: ada.id });
    expect(await rp.userinfo(tokens.access_token, ada.id)).toMatchObject({ name: 'Ada' });
    expect(problems).toEqual([]);
    await close();
  });

  it('throttles a password guesser whose attempts are spread over both instances', async () => {
    const { page, problems, close } = await openPage();
    await page.goto((await rp.authorizationRequest()).url.href);
    expect(await h1(page)).toBe('Sign in');

    served.length = 0;
    for (let guess = 1; guess <= 5; guess++) {
      expect(await submitLogin(page, 'grace@example.test', `guess number ${guess}`)).toBe(400);
      expect(await page.getByRole('alert').innerText()).toBe('Invalid email or password');
    }
    const guesses = served.filter((entry) => entry.method === 'POST').map((entry) => entry.instance);
    // A, B, A, B, A or B, A, B, A, B: at most three on either.
    expect(guesses).toHaveLength(5);
    guesses.forEach((instance, index) => {
      if (index > 0) expect(instance).not.toBe(guesses[index - 1]);
    });

    // Neither instance saw five failures, yet the sixth attempt, with the right password, is refused.
    expect(await submitLogin(page, 'grace@example.test', PASSWORD)).toBe(429);
    expect(served.filter((entry) => entry.method === 'POST').at(-1)!.instance).not.toBe(guesses.at(-1));
    expect(await h1(page)).toBe('Sign in');
    expect(await page.getByRole('alert').innerText()).toBe('Too many attempts. Try again in 1 minute.');
    expect(await page.getByLabel('Email').inputValue()).toBe('grace@example.test');
    expect(problems).toEqual([]);
    await close();
  });
});
