// `latchkey user invite`: the CLI makes the account and queues one mail in the
// database (it sends nothing itself); a running server on the same database
// delivers it over SMTP, and its link lets the person choose a password and
// sign in, which verifies the address. A taken address is refused; --json
// has the documented shape; no token ever reaches stdout or stderr.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { createRelyingParty, expectPage, heading, signInAndAllow } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const CALLBACK = 'https://app.example.test/cb';
const PASSWORD = 'my own chosen passphrase';

let sink: SmtpSink;
let server: TestServer;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(sink.port) } });
});

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

/** The CLI against the server's database and issuer (its master secret is not needed to invite). */
const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: server.database.url, ISSUER: server.issuer } });

async function eventually(check: () => boolean | Promise<boolean>, ms = 15_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('latchkey user invite', () => {
  it('queues one mail whose link sets the password; the person then signs in, verified', async () => {
    const result = await cli(['user', 'invite', '--email', 'Nia@Example.test', '--name', 'Nia Okafor', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { account: Record<string, unknown>; mailQueued: boolean };
    expect(Object.keys(output).sort()).toEqual(['account', 'mailQueued']);
    expect(output.mailQueued).toBe(true);
    expect(output.account).toMatchObject({ id: expect.any(String), email: 'nia@example.test', name: 'Nia Okafor', emailVerified: false, disabled: false });
    expect(JSON.stringify(output.account)).not.toMatch(/password/i);

    // One row, delivered by the running server's sender.
    expect(await server.database.db.prisma.mailOutbox.count({ where: { to: 'nia@example.test' } })).toBe(1);
    await eventually(() => sink.received.some((mail) => (mail.to as { text: string }).text === 'nia@example.test'));
    const mail = sink.received.find((m) => (m.to as { text: string }).text === 'nia@example.test')!;
    expect(mail.subject).toBe(`You are invited to ${new URL(server.issuer).host}`);
    const link = /(http:\/\/\S+\/password\/invite\?token=([A-Za-z0-9_-]{43}))/.exec(mail.text ?? '')!;
    expect(link).not.toBeNull();
    // The link is a credential: never printed.
    expect(result.stdout + result.stderr).not.toContain(link[2]);

    const rp = await createRelyingParty({ issuer: server.issuer, ...(await client()), redirectUri: CALLBACK });
    const form = expectPage(await rp.browser.open(link[1]!));
    expect(heading(form)).toBe('Choose your password');
    const done = expectPage(await rp.browser.submit(form, { password: PASSWORD }));
    expect(done.status).toBe(200);
    expect(heading(done)).toBe('Your password is set');
    expect(expectPage(await rp.browser.open(link[1]!)).status).toBe(400);

    const { callback } = await signInAndAllow(rp, { email: 'nia@example.test', password: PASSWORD });
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect((await server.services.accounts.findByEmail('nia@example.test'))!.emailVerified).toBe(true);

    const types = async () => (await server.services.audit.list({ types: ['account.*'], limit: 100 })).filter((event) => event.subject === output.account.id);
    await eventually(async () => (await types()).length === 2);
    const events = await types();
    expect(events.map((event) => [event.type, event.actor]).sort()).toEqual([
      ['account.invitation_accepted', output.account.id],
      ['account.invited', 'cli'],
    ]);
  });

  it('without --json: says the mail is queued and who sends it, without the link', async () => {
    const result = await cli(['user', 'invite', '--email', 'omar@example.test']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Invited omar@example.test');
    expect(result.stdout).toContain('if none is running, it waits until one starts');
    expect(result.stdout + result.stderr).not.toMatch(/token=|\/password\/invite/);
  });

  it.each([
    { label: 'a taken address', args: ['--email', 'taken@example.test'], exit: 1, code: 'already_exists' },
    { label: 'a malformed address', args: ['--email', 'not an address'], exit: 1, code: 'invalid_input' },
    { label: 'no address', args: ['--name', 'Nobody'], exit: 2, code: 'usage_error' },
    { label: 'a password argument', args: ['--email', 'pw@example.test', '--password=hunter2hunter2'], exit: 2, code: 'usage_error' },
  ])('refuses $label (exit $exit, $code) and queues nothing', async ({ args, exit, code }) => {
    if (code === 'already_exists') await server.services.accounts.create({ email: 'taken@example.test', password: PASSWORD });
    const before = await server.database.db.prisma.mailOutbox.count();
    const result = await cli(['user', 'invite', ...args, '--json']);
    expect(result.code).toBe(exit);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe(code);
    expect(await server.database.db.prisma.mailOutbox.count()).toBe(before);
  });
});

let registered: { clientId: string; clientSecret: string } | undefined;
async function client() {
  if (!registered) {
    const created = await server.services.clients.create({ name: 'Web app', redirectUris: [CALLBACK] });
    registered = { clientId: created.client.clientId, clientSecret: created.clientSecret! };
  }
  return registered;
}
