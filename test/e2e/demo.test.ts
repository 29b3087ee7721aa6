// `npm run demo` end to end in Chromium: the demo web app's "Login with
// Latchkey" button, Latchkey's real login and consent pages, back to the app
// with the ID token claims and the demo API's answer to the access token.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOT = path.join(root, 'test-results', 'demo.png');

let demo: ChildProcess | undefined;
let exited: Promise<number | null>;
let output = '';
let database: TestDatabase | undefined;
let dataDir: string;
let browser: Browser | undefined;
let urls: { issuer: string; app: string; api: string };
let login: { email: string; password: string };

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-demo-'));
  const [port, appPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  // On SQLite the demo uses its embedded default (a file in the data dir); on PostgreSQL, a fresh database.
  if (testDialect() === 'postgres') database = await createTestDatabase();
  const { DATABASE_URL: _url, ISSUER: _issuer, HOST: _host, LATCHKEY_SECRET: _secret, LOG_LEVEL: _level, DEMO_PASSWORD: _password, ...inherited } = process.env;
  demo = spawn('npm', ['run', 'demo'], {
    cwd: root,
    // Its own process group, so the whole npm → sh → node chain can be stopped together.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      PORT: String(port),
      DEMO_APP_PORT: String(appPort),
      DEMO_API_PORT: String(apiPort),
      LATCHKEY_DATA_DIR: dataDir,
      ...(database ? { DATABASE_URL: database.url } : {}),
    },
  });
  exited = new Promise((resolve) => demo!.once('exit', (code) => resolve(code)));
  demo.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (output.includes('Press Ctrl+C to stop.')) {
        clearInterval(check);
        resolve();
      }
    }, 100);
    void exited.then((code) => {
      clearInterval(check);
      reject(new Error(`npm run demo exited with ${code}:\n${output}`));
    });
  });

  const field = (label: string) => new RegExp(`${label}\\s+(\\S+)`).exec(output)?.[1];
  urls = { issuer: field('Latchkey \\(issuer\\)')!, app: field('Demo web app')!, api: field('Demo API')! };
  login = { email: field('Sign in as')!, password: /password: (\S+)/.exec(output)![1]! };

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (demo?.pid && demo.exitCode === null) {
    process.kill(-demo.pid, 'SIGTERM');
    await exited;
  }
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('prints where everything runs and the demo user to sign in with', () => {
  expect(urls).toEqual({
    issuer: expect.stringMatching(/^http:\/\/localhost:\d+$/),
    app: expect.stringMatching(/^http:\/\/localhost:\d+$/),
    api: expect.stringMatching(/^http:\/\/localhost:\d+\/hello$/),
  });
  expect(login).toEqual({ email: 'demo@example.com', password: expect.stringMatching(/^demo-[0-9a-f]{12}$/) });
  // The app's client secret is the app's business: never printed.
  expect(output).not.toMatch(/client_secret|clientSecret/i);
});

it('logs in through Latchkey, shows the ID token claims and the API answer', async () => {
  const context = await browser!.newContext();
  const page = await context.newPage();
  await page.goto(urls.app);
  await page.getByRole('link', { name: 'Login with Latchkey' }).click();

  await page.waitForURL((url) => url.href.startsWith(`${urls.issuer}/interaction/`));
  await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
  await page.fill('input[name="email"]', login.email);
  await page.fill('input[name="password"]', login.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  await expect.poll(() => page.locator('h1').textContent()).toBe('Latchkey demo app wants to access your account');
  expect(await page.locator('ul.scopes').textContent()).toContain('demo:read');
  await page.getByRole('button', { name: 'Allow' }).click();

  await page.waitForURL((url) => url.href.startsWith(`${urls.app}/callback`));
  expect(await page.locator('h1').textContent()).toBe('Signed in as Dana Demo');
  const claims = Object.fromEntries(
    await page.locator('table tr').evaluateAll((rows) => rows.map((row) => [row.querySelector('th')!.textContent, row.querySelector('td')!.textContent])),
  ) as Record<string, string>;
  expect(claims).toMatchObject({ iss: urls.issuer, email: 'demo@example.com', name: 'Dana Demo', sub: expect.any(String), nonce: expect.any(String) });

  expect(await page.locator('#api-status').textContent()).toBe('200');
  const answer = JSON.parse((await page.locator('#api-answer').textContent())!) as Record<string, unknown>;
  expect(answer).toMatchObject({ sub: claims.sub, scopes: ['demo:read'], message: expect.stringContaining('offline') });

  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await context.close();
});

it('stops cleanly on SIGTERM', async () => {
  // The signal reaches npm, sh and the demo alike; npm reports being signalled,
  // so the demo's own clean shutdown shows in its last line.
  process.kill(-demo!.pid!, 'SIGTERM');
  await exited;
  await expect.poll(() => output.trimEnd().split('\n').at(-1), { timeout: 10_000 }).toBe('Demo stopped.');
});
