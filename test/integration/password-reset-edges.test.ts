// Forgot password at the edges: with the SMTP server down the page answers at
// once and the mail arrives after the server comes back (the queue retries
// with backoff); with LATCHKEY_PASSWORD_RESET=false the login page offers no
// link and every reset path is a readable 404 page, while an invitation link
// (the operator's) still works.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { createRelyingParty, expectPage, heading, parseForms } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const CALLBACK = 'https://app.example.test/cb';
const PASSWORD = 'correct horse battery staple';

let server: TestServer | undefined;
let sink: SmtpSink | undefined;

afterEach(async () => {
  await server?.stop();
  await sink?.close();
  server = sink = undefined;
});

async function relyingParty(test: TestServer) {
  const created = await test.services.clients.create({ name: 'Web app', redirectUris: [CALLBACK] });
  return createRelyingParty({ issuer: test.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: CALLBACK });
}

async function eventually(check: () => boolean, ms: number) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('SMTP down during a reset', () => {
  it('the page answers at once; the mail arrives once the server is back', { timeout: 40_000 }, async () => {
    const port = await freePort(); // nothing listens there yet
    server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(port) } });
    await server.services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
    const rp = await relyingParty(server);
    const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
    const forgot = expectPage(await rp.browser.open(/href="([^"]*\/forgot)"/.exec(login.html)![1]!));

    const started = performance.now();
    const sent = expectPage(await rp.browser.submit(forgot, { email: 'ada@example.test' }));
    const ms = performance.now() - started;
    expect(sent.status).toBe(200);
    expect(heading(sent)).toBe('Check your mail');
    expect(ms).toBeLessThan(1000);

    // The first attempt has failed (connection refused): the row waits for its retry.
    const outbox = server.database.db.prisma.mailOutbox;
    const until = Date.now() + 10_000;
    while (!(await outbox.findFirst({ where: { to: 'ada@example.test', sentAt: null, lastError: { not: null } } }))) {
      if (Date.now() > until) throw new Error('the first attempt was not made');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    sink = await startSmtpSink(port);
    await eventually(() => sink!.received.length === 1, 30_000);
    expect(sink.received[0]!.subject).toMatch(/^Reset your password/);
    expect(sink.received[0]!.text).toContain('/reset?token=');
  });
});

describe('LATCHKEY_PASSWORD_RESET=false', () => {
  it('no link on the login page; forgot and reset paths are 404 pages; an invitation still works', async () => {
    server = await startTestServer({ env: { LATCHKEY_PASSWORD_RESET: 'false' } });
    const ada = await server.services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
    const rp = await relyingParty(server);
    const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
    expect(login.html).not.toContain('/forgot');
    const uid = /\/interaction\/([^/]+)\/login/.exec(parseForms(login.html)[0]!.action)![1]!;

    const token = await server.services.accountTokens.issue({ purpose: 'reset_password', accountId: ada.id, email: ada.email, interactionUid: uid });
    for (const path of [`/interaction/${uid}/forgot`, `/interaction/${uid}/reset?token=${token}`, `/password/reset?token=${token}`]) {
      const page = expectPage(await rp.browser.open(path));
      expect(page.status, path).toBe(404);
      expect(heading(page), path).toBe('This page does not exist');
    }
    const forged = expectPage(await rp.browser.post(`/interaction/${uid}/forgot`, new URLSearchParams({ email: ada.email })));
    expect(forged.status).toBe(404);

    const invitation = await server.services.accountTokens.issue({ purpose: 'invite', accountId: ada.id, email: ada.email });
    const form = expectPage(await rp.browser.open(`/password/invite?token=${invitation}`));
    expect(form.status).toBe(200);
    expect(heading(form)).toBe('Choose your password');
  });
});
