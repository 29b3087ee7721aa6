// Forgot password over real SMTP, from a real relying party (openid-client):
// the reset link ends every session and refresh token of the account and
// brings the person back to the app's sign-in; known, unknown and disabled
// addresses get the same status and the same page, and only the known one a
// mail (the same time: password-reset-timing.test.ts); the mail limits fire (429, no
// mail); expired, reused and tampered links, weak passwords and forged posts
// are refused with exact statuses; ten parallel posts of one link: one wins.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParsedMail } from 'mailparser';
import { createRelyingParty, expectPage, expectRedirect, heading, oauthError, parseForms, signInAndAllow, UserAgent, type RelyingParty, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const OLD_PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a completely different passphrase';
const CALLBACK = 'https://app.example.test/cb';
const OFFLINE = { scope: 'openid offline_access', prompt: 'consent' };
const SENT = 'Check your mail';

let sink: SmtpSink;
let server: TestServer;
let client: { id: string; secret: string };

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(sink.port) } });
  const created = await server.services.clients.create({ name: 'Web app', redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

// The limits are tested on their own; elsewhere every test starts with none counted.
beforeEach(async () => {
  await server.database.db.prisma.throttle.deleteMany();
});

const relyingParty = () => createRelyingParty({ issuer: server.issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });

const mailsTo = (address: string) => sink.received.filter((mail) => (mail.to as { text: string }).text === address);

async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits for the `n`-th mail to `address` and returns it. */
async function nthMail(address: string, n: number): Promise<ParsedMail> {
  await eventually(() => mailsTo(address).length >= n);
  return mailsTo(address)[n - 1]!;
}

const linkIn = (mail: ParsedMail) => /(http:\/\/\S+\?token=[A-Za-z0-9_-]{43}\S*)/.exec(mail.text ?? '')![1]!;

/** The login page of a fresh authorization request, and its interaction uid. */
async function loginPage(rp: RelyingParty, params: Record<string, string> = {}) {
  const page = expectPage(await rp.browser.open((await rp.authorizationRequest(params)).url));
  expect(heading(page)).toBe('Sign in');
  const uid = /\/interaction\/([^/]+)\/login/.exec(parseForms(page.html)[0]!.action)![1]!;
  return { page, uid };
}

/** The "Forgot password?" page linked from the login page. */
async function forgotPage(rp: RelyingParty, params: Record<string, string> = {}) {
  const { page, uid } = await loginPage(rp, params);
  const href = /href="([^"]*\/forgot)"/.exec(page.html)![1]!;
  return { page: expectPage(await rp.browser.open(href)), uid };
}

/** Whether a new authorization request in this browser asks for a sign-in (no session left). */
async function freshAuthorizationShowsLogin(rp: RelyingParty): Promise<boolean> {
  const step = await rp.browser.open((await rp.authorizationRequest()).url);
  return step.kind === 'page' && heading(step) === 'Sign in';
}

async function createAccount(email: string, password = OLD_PASSWORD) {
  return server.services.accounts.create({ email, password });
}

/** A reset link issued outside any sign-in, and the form it shows. */
async function issuedLink(accountId: string, email: string) {
  const token = await server.services.accountTokens.issue({ purpose: 'reset_password', accountId, email });
  return { token, url: `${server.issuer}/password/reset?token=${token}` };
}

describe('forgot password, from a relying party', () => {
  it('mails one link; the new password works, the old one and the old refresh token do not', async () => {
    const ada = await createAccount('ada@example.test');
    const rp = await relyingParty();
    const { request: first, callback } = await signInAndAllow(rp, { email: ada.email, password: OLD_PASSWORD }, OFFLINE);
    const oldTokens = await rp.exchange(callback, first);
    expect(oldTokens.refresh_token).toEqual(expect.any(String));

    // Later, in a browser without a session (another device), the password forgotten: "Forgot password?".
    rp.browser.jar.clear();
    const { page: forgot, uid } = await forgotPage(rp);
    expect(heading(forgot)).toBe('Forgot your password?');
    expect(parseForms(forgot.html)[0]!.fields).toHaveProperty('email');
    const sent = expectPage(await rp.browser.submit(forgot, { email: 'Ada@Example.test' }));
    expect(sent.status).toBe(200);
    expect(heading(sent)).toBe(SENT);

    const mail = await nthMail(ada.email, 1);
    expect(mail.subject).toBe(`Reset your password for ${new URL(server.issuer).host}`);
    const link = linkIn(mail);
    expect(link.startsWith(`${server.issuer}/interaction/${uid}/reset?token=`)).toBe(true);
    expect(mail.html).toContain(link.replaceAll('&', '&amp;'));

    const form = expectPage(await rp.browser.open(link));
    expect(form.status).toBe(200);
    expect(heading(form)).toBe('Choose a new password');
    expect(parseForms(form.html)[0]!.fields).toHaveProperty('password');
    // Back at this sign-in, told what happened.
    const back = expectPage(await rp.browser.submit(form, { password: NEW_PASSWORD }));
    expect(back.url.pathname).toBe(`/interaction/${uid}/login`);
    expect(heading(back)).toBe('Sign in');
    expect(back.html).toContain('Your password was changed; sign in with the new one.');

    const refused = expectPage(await rp.browser.submit(back, { email: ada.email, password: OLD_PASSWORD }));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Invalid email or password');
    expect(await oauthError(rp.refresh(oldTokens.refresh_token!))).toBe('invalid_grant');

    const consent = await rp.browser.submit(refused, { email: ada.email, password: NEW_PASSWORD });
    const code = expectRedirect(await rp.browser.submit(consent, {}, 'Allow'));
    expect(code.searchParams.get('code')).toBeTruthy();

    // Told by mail; the address is verified (the link proved the mailbox); audited without the token.
    expect((await nthMail(ada.email, 2)).subject).toBe(`The password of your ${new URL(server.issuer).host} account was changed`);
    expect((await server.services.accounts.findById(ada.id))!.emailVerified).toBe(true);
    const accountEvents = async () => (await server.services.audit.list({ types: ['account.*'], limit: 1000 })).filter((event) => event.subject === ada.id);
    // The server writes its audit events in batches.
    await eventually(async () => (await accountEvents()).length >= 2);
    const events = await accountEvents();
    expect(events.map((event) => event.type).sort()).toEqual(['account.password_reset_completed', 'account.password_reset_requested']);
    expect(events.every((event) => event.actor === ada.id)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(new URL(link).searchParams.get('token'));
    // The link was used once; following it again says so.
    expect(expectPage(await rp.browser.open(link)).status).toBe(400);
  });

  it('asked for from a browser signed in to the same account: that session ends with the reset, so the page says to go back to the app', async () => {
    const gus = await createAccount('gus@example.test');
    const rp = await relyingParty();
    await signInAndAllow(rp, { email: gus.email, password: OLD_PASSWORD });
    const { page: forgot } = await forgotPage(rp, { prompt: 'login' });
    await rp.browser.submit(forgot, { email: gus.email });
    const done = expectPage(await rp.browser.submit(await rp.browser.open(linkIn(await nthMail(gus.email, 1))), { password: NEW_PASSWORD }));
    expect(done.status).toBe(200);
    expect(heading(done)).toBe('Your password was changed');
    expect(await freshAuthorizationShowsLogin(rp)).toBe(true);
  });

  it('followed in another browser: sets the password and says to go back to the app', async () => {
    const bea = await createAccount('bea@example.test');
    const rp = await relyingParty();
    const { page: forgot } = await forgotPage(rp);
    await rp.browser.submit(forgot, { email: bea.email });
    const link = linkIn(await nthMail(bea.email, 1));
    const other = new UserAgent(new URL(server.issuer).origin);
    const done = expectPage(await other.submit(await other.open(link), { password: NEW_PASSWORD }));
    expect(done.status).toBe(200);
    expect(heading(done)).toBe('Your password was changed');
    expect(await server.services.accounts.authenticate(bea.email, NEW_PASSWORD)).toBeDefined();
  });
});

describe('enumeration', () => {
  /** The page with its per-request form token cut out. */
  const comparable = (step: Step) => expectPage(step).html.replace(/name="token" value="[^"]*"/g, 'name="token" value=""');

  it('known, unknown and disabled addresses get the same status and page; only the known one a mail', async () => {
    const known = await createAccount('known@example.test');
    const disabled = await createAccount('disabled@example.test');
    await server.services.accounts.disable(disabled.email);
    const rp = await relyingParty();
    const { page: forgot } = await forgotPage(rp);

    const answers = [];
    for (const email of [known.email, 'nobody@example.test', disabled.email]) answers.push(await rp.browser.submit(forgot, { email }));
    expect(answers.map((step) => expectPage(step).status)).toEqual([200, 200, 200]);
    expect(heading(answers[0]!)).toBe(SENT);
    expect(comparable(answers[1]!)).toBe(comparable(answers[0]!));
    expect(comparable(answers[2]!)).toBe(comparable(answers[0]!));

    await nthMail(known.email, 1);
    await new Promise((resolve) => setTimeout(resolve, 500)); // bounded wait for a mail that must not come
    expect(mailsTo('nobody@example.test')).toHaveLength(0);
    expect(mailsTo(disabled.email)).toHaveLength(0);
    expect(mailsTo(known.email)).toHaveLength(1);
    const requested = async () => (await server.services.audit.list({ types: ['account.password_reset_requested'], limit: 1000 })).map((event) => event.subject);
    await eventually(async () => (await requested()).includes(known.id));
    expect(await requested()).toContain(known.id);
    expect(await requested()).not.toContain(disabled.id);
  });
});

describe('limits', () => {
  it('five mails to one address, then 429 with Retry-After and no mail', async () => {
    const cyd = await createAccount('cyd@example.test');
    const rp = await relyingParty();
    const { page: forgot } = await forgotPage(rp);
    for (let i = 0; i < 5; i++) expect(expectPage(await rp.browser.submit(forgot, { email: cyd.email })).status).toBe(200);
    const limited = expectPage(await rp.browser.submit(forgot, { email: cyd.email }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(heading(limited)).toBe('Too many requests');
    // An unknown address over its limit looks the same.
    for (let i = 0; i < 5; i++) await rp.browser.submit(forgot, { email: 'ghost@example.test' });
    expect(expectPage(await rp.browser.submit(forgot, { email: 'ghost@example.test' })).status).toBe(429);
    await eventually(() => mailsTo(cyd.email).length === 5);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(mailsTo(cyd.email)).toHaveLength(5);
  });

  it('twenty mails from one network address, whatever the recipients, then 429', async () => {
    const rp = await relyingParty();
    const { page: forgot } = await forgotPage(rp);
    for (let i = 0; i < 20; i++) expect(expectPage(await rp.browser.submit(forgot, { email: `spray-${i}@example.test` })).status).toBe(200);
    expect(expectPage(await rp.browser.submit(forgot, { email: 'spray-20@example.test' })).status).toBe(429);
  });

  it('twenty failed links from one network address, then even a good link waits (429)', async () => {
    const dee = await createAccount('dee@example.test');
    const agent = new UserAgent(new URL(server.issuer).origin);
    for (let i = 0; i < 20; i++) expect(expectPage(await agent.open(`/password/reset?token=${'A'.repeat(43)}`)).status).toBe(400);
    const { url } = await issuedLink(dee.id, dee.email);
    const limited = expectPage(await agent.open(url));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('refused links and passwords', () => {
  it.each([
    { label: 'tampered', heading: 'This link does not work', token: (t: string) => `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}` },
    { label: 'truncated', heading: 'This link does not work', token: (t: string) => t.slice(0, 20) },
    { label: 'missing', heading: 'This link does not work', token: () => '' },
    { label: 'reused', heading: 'This link was already used', token: (t: string) => t, before: 'use' },
    { label: 'expired', heading: 'This link has expired', token: (t: string) => t, before: 'expire' },
    { label: 'superseded by a newer link', heading: 'This link was already used', token: (t: string) => t, before: 'reissue' },
  ] as const)('$label link: 400 with a readable page, the password unchanged', async (row) => {
    const account = await createAccount(`link-${row.label.replaceAll(' ', '-')}@example.test`);
    const { token } = await issuedLink(account.id, account.email);
    if ('before' in row && row.before === 'use') await server.services.accountTokens.use('reset_password', token);
    if ('before' in row && row.before === 'expire') await server.database.db.prisma.accountToken.updateMany({ where: { accountId: account.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    if ('before' in row && row.before === 'reissue') await issuedLink(account.id, account.email);
    const agent = new UserAgent(new URL(server.issuer).origin);
    const page = expectPage(await agent.open(`/password/reset?token=${row.token(token)}`));
    expect(page.status).toBe(400);
    expect(heading(page)).toBe(row.heading);
    expect(page.html).not.toContain(token);
    expect(await server.services.accounts.authenticate(account.email, OLD_PASSWORD)).toBeDefined();
  });

  it.each([
    { label: 'too short', password: 'Tq7#zW', message: 'too short' },
    { label: 'common', password: 'qwertyuiop', message: 'most common' },
    { label: 'too long', password: 'x'.repeat(257), message: 'too long' },
    { label: 'far too long', password: 'y'.repeat(5000), message: 'too long' },
    { label: 'empty', password: '', message: 'too short' },
  ])('$label password: 400, the rule named, nothing echoed, nothing changed, the link still good', async ({ label, password, message }) => {
    const account = await createAccount(`weak-${label.replaceAll(' ', '-')}@example.test`);
    const { url, token } = await issuedLink(account.id, account.email);
    const agent = new UserAgent(new URL(server.issuer).origin);
    const refused = expectPage(await agent.submit(await agent.open(url), { password }));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain(message);
    if (password) expect(refused.html).not.toContain(password);
    expect(await server.services.accounts.authenticate(account.email, OLD_PASSWORD)).toBeDefined();
    expect((await server.services.accountTokens.peek('reset_password', token)).ok).toBe(true);
  });

  it.each([
    { label: 'no form token', csrf: () => undefined },
    { label: 'a form token of another link', csrf: (other: string) => other },
    { label: 'a forged form token', csrf: () => 'A'.repeat(43) },
  ])('reset form posted with $label: 403, nothing changed', async ({ label, csrf }) => {
    const account = await createAccount(`csrf-${label.replaceAll(' ', '-')}@example.test`);
    const { url, token } = await issuedLink(account.id, account.email);
    const agent = new UserAgent(new URL(server.issuer).origin);
    const otherAccount = await createAccount(`csrf-other-${label.replaceAll(' ', '-')}@example.test`);
    const otherForm = parseForms(expectPage(await agent.open((await issuedLink(otherAccount.id, otherAccount.email)).url)).html)[0]!;
    const body = new URLSearchParams({ token, password: NEW_PASSWORD });
    const forged = csrf(otherForm.fields.csrf!);
    if (forged !== undefined) body.set('csrf', forged);
    const refused = expectPage(await agent.post(new URL(url).pathname, body));
    expect(refused.status).toBe(403);
    expect(await server.services.accounts.authenticate(account.email, OLD_PASSWORD)).toBeDefined();
    expect((await server.services.accountTokens.peek('reset_password', token)).ok).toBe(true);
  });

  it('forgot form posted without its form token: 403, no mail', async () => {
    const eve = await createAccount('eve@example.test');
    const rp = await relyingParty();
    const { page: forgot } = await forgotPage(rp);
    const form = parseForms(forgot.html)[0]!;
    const refused = expectPage(await rp.browser.post(new URL(form.action, forgot.url), new URLSearchParams({ email: eve.email })));
    expect(refused.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mailsTo(eve.email)).toHaveLength(0);
  });
});

describe('single use', () => {
  it('ten parallel posts of one link with different passwords: exactly one wins', async () => {
    const fay = await createAccount('fay@example.test');
    const { url } = await issuedLink(fay.id, fay.email);
    const agent = new UserAgent(new URL(server.issuer).origin);
    const form = expectPage(await agent.open(url));
    const passwords = Array.from({ length: 10 }, (_, i) => `parallel passphrase number ${i}`);
    const answers = await Promise.all(passwords.map((password) => agent.submit(form, { password })));
    const statuses = answers.map((step) => expectPage(step).status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(9);
    const winner = passwords[statuses.indexOf(200)]!;
    for (const password of passwords) expect(!!(await server.services.accounts.authenticate(fay.email, password))).toBe(password === winner);
  });
});
