// Two-step sign-in with an authenticator app, over real HTTP on a real
// database: enrolment on the account page (the secret read from the page's
// text, codes computed with otpauth as an app would), recovery codes (shown
// once, counted down, single use even in parallel), removal with the
// password. Codes at sign-in are in mfa-sign-in.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeAt, enrol as enrolWith, recoveryCodesOn, secretOn } from '../helpers/mfa.ts';
import { expectPage, heading, parseForms, UserAgent, type Step } from '../helpers/rp.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

let accounts = 0;
async function newAccount() {
  const email = `mfa${++accounts}@example.test`;
  const account = await server.services.accounts.create({ email, name: 'Grace Hopper', password: PASSWORD });
  return { id: account.id, email };
}

async function signInToAccount(ua: UserAgent, email: string) {
  const login = expectPage(await ua.open('/account'));
  const back = expectPage(await ua.submit(login, { email, password: PASSWORD }));
  expect(heading(back)).toBe('Your account');
  return back;
}

function post(ua: UserAgent, page: Step, action: string, values: Record<string, string> = {}): Promise<Step> {
  const form = parseForms(expectPage(page).html).find((candidate) => candidate.action === action);
  if (!form) throw new Error(`no form for ${action}`);
  return ua.post(action, new URLSearchParams({ ...form.fields, ...values }));
}

const codesLeft = (page: Step) => Number(/id="recovery-codes-left">[^<]*?(\d+)</.exec(expectPage(page).html)?.[1]);
const auditOf = async (type: string, subject: string) => (await server.services.audit.list({ types: [type], limit: 1000 })).filter((event) => event.subject === subject);

async function eventually<T>(check: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const enrol = (ua: UserAgent, email: string) => enrolWith(ua, email, PASSWORD);

describe('enrolling an authenticator app on the account page', () => {
  it('shows an inline SVG QR code and the secret, is pending until the first code, then shows ten recovery codes once', async () => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    expect(page.html).toContain('Set up an authenticator app');
    const started = expectPage(await post(ua, page, '/account/mfa/totp/start'));
    expect(started.url.pathname).toBe('/account');
    expect(started.html).toMatch(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // The page CSP needs no data: image: the QR code is markup.
    expect(started.headers.get('content-security-policy')).toContain("img-src 'self'");
    const secret = secretOn(started);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // Stored sealed, never as the secret itself.
    const row = await server.database.db.prisma.totpFactor.findUnique({ where: { accountId: ada.id } });
    expect(row?.confirmedAt).toBeNull();
    expect(row?.sealedSecret).not.toContain(secret);
    expect(await server.services.mfa.hasSecondFactor(ada.id)).toBe(false);

    const wrong = expectPage(await post(ua, started, '/account/mfa/totp/confirm', { code: codeAt(secret, 5) }));
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('That code is not right');

    const confirmed = expectPage(await post(ua, started, '/account/mfa/totp/confirm', { code: codeAt(secret) }));
    expect(confirmed.status).toBe(200);
    const codes = recoveryCodesOn(confirmed);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(codesLeft(confirmed)).toBe(10);
    expect(await server.services.mfa.hasSecondFactor(ada.id)).toBe(true);
    // Only digests are stored.
    const stored = await server.database.db.prisma.recoveryCode.findMany({ where: { accountId: ada.id } });
    expect(stored.map((code) => code.codeHash)).not.toContain(codes[0]);

    // Shown once: the page reloaded lists none.
    const again = expectPage(await ua.open('/account'));
    expect(recoveryCodesOn(again)).toEqual([]);
    expect(again.html).toContain('Recovery codes left: 10');
    expect(await eventually(async () => (await auditOf('mfa.totp_enrolled', ada.id)).length)).toBe(1);
    expect(await eventually(async () => (await auditOf('mfa.recovery_codes_generated', ada.id))[0]?.details)).toEqual({ count: 10 });
  });

  it('regenerates recovery codes with the password (the old ones stop working) and removes the app with it', async () => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const { page, recoveryCodes } = await enrol(ua, ada.email);

    const refused = expectPage(await post(ua, page, '/account/mfa/recovery-codes', { password: 'not the password' }));
    expect(refused.status).toBe(400);
    const regenerated = expectPage(await post(ua, page, '/account/mfa/recovery-codes', { password: PASSWORD }));
    const fresh = recoveryCodesOn(regenerated);
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recoveryCodes[0]);

    const notRemoved = expectPage(await post(ua, page, '/account/mfa/totp/remove', { password: 'not the password' }));
    expect(notRemoved.status).toBe(400);
    expect(await server.services.mfa.hasSecondFactor(ada.id)).toBe(true);
    const removed = expectPage(await post(ua, page, '/account/mfa/totp/remove', { password: PASSWORD }));
    expect(removed.url.search).toBe('?done=mfaRemoved');
    expect(await server.services.mfa.status(ada.id)).toEqual({ totp: 'none', recoveryCodesLeft: 0 });
    expect(await eventually(async () => (await auditOf('mfa.totp_removed', ada.id)).length)).toBe(1);
  });
});

describe('latchkey user reset-mfa', () => {
  const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: server.database.url, ISSUER: server.issuer } });

  it('removes the app, the recovery codes and the passkeys, audited with actor cli; the next sign-in needs only the password', async () => {
    const ada = await newAccount();
    await enrol(new UserAgent(new URL(server.issuer).origin), ada.email);
    // A passkey as the account page would have stored it (its ceremony is Chromium's: passkey-browser.test.ts).
    await server.database.db.prisma.passkey.create({ data: { id: `cred-${ada.id}`, accountId: ada.id, name: 'Phone', publicKey: 'AQID', counter: 0 } });
    const result = await cli(['user', 'reset-mfa', ada.email, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ hadApp: true, passkeysRemoved: 1 });
    expect(await server.services.mfa.status(ada.id)).toEqual({ totp: 'none', recoveryCodesLeft: 0 });
    expect(await server.database.db.prisma.passkey.count({ where: { accountId: ada.id } })).toBe(0);
    const [event] = await eventually(async () => { const found = await auditOf('mfa.reset', ada.id); return found.length ? found : undefined; });
    expect(event).toMatchObject({ actor: 'cli', details: { hadApp: true, passkeysRemoved: 1 } });
    await signInToAccount(new UserAgent(new URL(server.issuer).origin), ada.email);
  });

  it.each([
    ['an unknown email', ['user', 'reset-mfa', 'nobody@example.test'], 'not_found'],
  ])('refuses %s', async (_case, args, code) => {
    const result = await cli([...args, '--json']);
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toContain(code);
  });
});
