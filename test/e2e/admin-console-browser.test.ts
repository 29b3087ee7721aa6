// The admin console in Chromium: an admin signs in through Latchkey (the
// console's own code + PKCE round trip, its sealed cookies set and read by a
// real browser), creates a client and sees its secret once, rotates the
// secret, and finds the rotation in the audit log; a viewer sees the same
// pages with no write button, and a write forged with their cookies is
// refused by the API (403), as a page. No page logs a CSP violation or a script
// error. With SCREENSHOTS=<dir>, the dashboard, the client list and the
// client's edit page are saved there (dashboard.png, client-list.png, client-edit.png).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { auditEventId } from '../../src/audit/audit-event.ts';
import { ADMIN_PASSWORD, createPerson, ensureAdminResource } from '../helpers/admin-console.ts';
import { launchChromium, watchPage } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SHOTS = process.env.SCREENSHOTS;

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchChromium();
  await ensureAdminResource(server);
  await createPerson(server, 'admin@example.test', 'admin');
  await createPerson(server, 'viewer@example.test', 'viewer');
  await server.services.clients.create({ name: 'Billing service', grantTypes: ['client_credentials'], resources: [`${server.issuer}/admin`], scope: 'audit:read' });
  await server.services.clients.create({ name: 'Customer portal', redirectUris: ['https://portal.example.test/callback'] });
  await seedActivity();
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
});

/** A day of sign-ins for the dashboard's chart: tokens through the working day, a burst of failed sign-ins one hour. */
async function seedActivity() {
  const now = Date.now();
  const rows = [];
  for (let hoursAgo = 1; hoursAgo < 24; hoursAgo++) {
    const at = new Date(now - hoursAgo * 3_600_000);
    const tokens = Math.round(6 + 5 * Math.sin(hoursAgo / 3.5) + (hoursAgo % 5));
    const failures = hoursAgo === 7 ? 9 : hoursAgo % 4 === 0 ? 1 : 0;
    for (let i = 0; i < tokens; i++) rows.push({ id: auditEventId(at), type: 'token.issued', at, clientId: 'lk_seeded' });
    for (let i = 0; i < failures; i++) rows.push({ id: auditEventId(at), type: 'login.failure', at });
  }
  await server.database.db.prisma.auditEvent.createMany({ data: rows });
}

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watchPage(page);
  return { context, page, problems };
}

const h1 = (page: Page) => page.locator('h1').innerText();
const shot = async (page: Page, name: string) => {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
};

async function signIn(page: Page, email: string, to = '/admin') {
  await page.goto(`${server.issuer}${to}`);
  await expect.poll(() => h1(page)).toBe('Sign in');
  await page.fill('#email', email);
  await page.fill('#password', ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(`${server.issuer}${to}`), page.click('button[type=submit]')]);
}

it('an admin signs in, creates a client, rotates its secret and sees the rotation in the audit log', async () => {
  const { context, page, problems } = await open();
  try {
    await signIn(page, 'admin@example.test');
    expect(await h1(page)).toBe('Dashboard');
    await shot(page, 'dashboard');

    await page.click('nav >> text=Clients');
    expect(await h1(page)).toBe('Clients');
    await page.click('text=New client');
    expect(await h1(page)).toBe('New client');
    await page.fill('#client_name', 'Team wiki');
    await page.fill('#redirect_uris', 'https://wiki.example.test/callback');
    await page.click('button:has-text("Create client")');
    expect(await h1(page)).toBe('Client created');
    const secret = await page.locator('#client-secret').innerText();
    expect(secret.length).toBeGreaterThan(20);
    const clientId = (await page.locator('dl.facts dd code').first().innerText()).trim();
    expect(clientId).toMatch(/^lk_/);

    await page.click('text=Open the client');
    await page.waitForURL(`${server.issuer}/admin/clients/${clientId}`);
    expect(await h1(page)).toBe('Team wiki');
    expect(await page.content()).not.toContain(secret);
    await page.click('button:has-text("Rotate secret")');
    expect(await h1(page)).toBe('New client secret');
    const rotated = await page.locator('#client-secret').innerText();
    expect(rotated).not.toBe(secret);

    await page.goto(`${server.issuer}/admin/clients`);
    await shot(page, 'client-list');
    await page.goto(`${server.issuer}/admin/clients/${clientId}`);
    await shot(page, 'client-edit');

    // Audit events are written in batches: look until the rotation is there.
    await expect
      .poll(
        async () => {
          await page.goto(`${server.issuer}/admin/audit?type=client.secret_rotated`);
          return page.locator('table.list tbody').innerText().catch(() => '');
        },
        { timeout: 10_000, interval: 500 },
      )
      .toContain(clientId);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

it('a viewer sees the pages with no write buttons', async () => {
  const { context, page, problems } = await open();
  try {
    await signIn(page, 'viewer@example.test', '/admin/clients');
    expect(await h1(page)).toBe('Clients');
    expect(await page.locator('text=New client').count()).toBe(0);
    await page.click('text=Customer portal');
    expect(await h1(page)).toBe('Customer portal');
    // The only form left is "Sign out".
    expect(await page.locator('main form').count()).toBe(0);
    expect(await page.locator('main button').count()).toBe(0);
    await page.goto(`${server.issuer}/admin/keys`);
    expect(await h1(page)).toBe('Signing keys');
    expect(await page.locator('main button').count()).toBe(0);

    // A write forged with the browser's own cookies and form token: the API refuses it, shown as a page.
    const token = await page.locator('form[action="/admin/logout"] input[name=token]').inputValue();
    const forged = await context.request.post(`${server.issuer}/admin/keys/rotate`, { form: { token }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(forged.headers()['content-type']).toMatch(/^text\/html/);
    expect(await forged.text()).toContain('Your role does not allow this');
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});
