// The account page's "Linked sign-ins" and the accounts without a password
// that federated sign-ins make, over real HTTP with a real SMTP server. Links
// are made through the service here (the sign-in flow that makes them is
// src/federation/'s routes, tested with them); an account made by a
// federated sign-in is one whose password hash is null, so the tests sign in
// with a password and then drop it from the row, which leaves the session as
// a federated sign-in would. Shown: each link with its provider, upstream
// email and date; unlinking through a form bound to the session, audited;
// refusals with exact statuses, the last way in kept; and a passwordless
// account setting its first password through the mailed link.
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProviderView } from '../../src/federation/identity-provider-service.ts';
import { expectPage, heading, parseForms, UserAgent, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const PASSWORD = 'correct horse battery staple';
const NOW = new Date('2026-12-01T10:00:00.000Z');

let sink: SmtpSink;
let server: TestServer;
let acme: IdentityProviderView;
let github: IdentityProviderView;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(sink.port) } });
  acme = await server.services.identityProviders.create({ name: 'Acme SSO', issuer: 'https://sso.acme.example', clientId: 'latchkey', clientSecret: 'acme-secret' });
  github = await server.services.identityProviders.create({ name: 'GitHub', type: 'github', clientId: 'Iv1.x', clientSecret: 'gh-secret' });
});

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

let accounts = 0;
async function newAccount() {
  const email = `linked${++accounts}@example.test`;
  const account = await server.services.accounts.create({ email, name: 'Ada', password: PASSWORD });
  return { id: account.id, email };
}

const link = (accountId: string, idp: IdentityProviderView, subject: string, email: string | null = null, now = NOW) =>
  server.services.federatedIdentities.link({ providerId: idp.id, subject, accountId, email, now });

/** As a federated sign-in leaves it: the account has no password. */
const dropPassword = (accountId: string) => server.database.db.prisma.account.update({ where: { id: accountId }, data: { passwordHash: null } });

async function signInToAccount(ua: UserAgent, email: string): Promise<Extract<Step, { kind: 'page' }>> {
  const login = expectPage(await ua.open('/account'));
  const back = expectPage(await ua.submit(login, { email, password: PASSWORD }));
  expect(heading(back)).toBe('Your account');
  return back;
}

function post(ua: UserAgent, page: Step, action: string, values: Record<string, string> = {}, pick: (fields: Record<string, string>) => boolean = () => true): Promise<Step> {
  const form = parseForms(expectPage(page).html).find((candidate) => candidate.action === action && pick(candidate.fields));
  if (!form) throw new Error(`no form for ${action}`);
  return ua.post(action, new URLSearchParams({ ...form.fields, ...values }));
}

/** POSTs without following the redirect: the status and Location as sent. */
async function rawPost(ua: UserAgent, action: string, body: URLSearchParams) {
  const url = new URL(action, server.issuer);
  const response = await fetch(url, { method: 'POST', headers: { cookie: ua.jar.header(url), 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), text };
}

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const section = (html: string) => /<section aria-labelledby="links-heading" id="linked-sign-ins">([\s\S]*?)<\/section>/.exec(html)![1]!;
const linkForms = (html: string) => parseForms(html).filter((form) => form.action === '/account/links/unlink');
const alertIn = (html: string) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(section(html))?.[1];
const origin = () => new URL(server.issuer).origin;

describe('linked sign-ins on the account page', () => {
  it('lists each link with its provider, upstream email and when it was linked, each with an Unlink button', async () => {
    const ada = await newAccount();
    const ua = new UserAgent(origin());
    const empty = await signInToAccount(ua, ada.email);
    expect(section(empty.html)).toContain('<h2 id="links-heading">Linked sign-ins</h2>');
    expect(section(empty.html)).toContain('No other sign-ins are linked to your account.');
    expect(linkForms(empty.html)).toEqual([]);

    await link(ada.id, acme, 'acme-sub', 'ada@acme.example');
    await link(ada.id, github, '12345', '<b>ada</b>@github.example', new Date(NOW.getTime() + 86_400_000));
    const page = expectPage(await ua.open('/account'));
    const html = section(page.html);
    expect(html).toContain('<strong>Acme SSO</strong> · ada@acme.example');
    // Upstream text is escaped, never markup.
    expect(html).toContain('&lt;b&gt;ada&lt;/b&gt;@github.example');
    expect(html).toContain('Linked Dec 1, 2026, 10:00 AM UTC.');
    expect(linkForms(page.html).map((form) => [form.fields.provider, form.buttons.map((button) => button.label)])).toEqual([
      [acme.id, ['Unlink']],
      [github.id, ['Unlink']],
    ]);
    expect(html).toContain('aria-label="Unlink Acme SSO"');
    // Every form carries the page's form token.
    for (const form of linkForms(page.html)) expect(form.fields.token).toEqual(expect.any(String));
  });

  it('unlinks one: back to the page with a notice, the link gone, the other kept, an audit event', async () => {
    const ada = await newAccount();
    await link(ada.id, acme, 'acme-unlink');
    await link(ada.id, github, 'gh-unlink');
    const ua = new UserAgent(origin());
    const page = await signInToAccount(ua, ada.email);
    const done = expectPage(await post(ua, page, '/account/links/unlink', {}, (fields) => fields.provider === acme.id));
    expect(done.url.pathname + done.url.search).toBe('/account?done=unlinked');
    expect(done.html).toContain('The sign-in was unlinked. It no longer signs in to your account.');
    expect(linkForms(done.html).map((form) => form.fields.provider)).toEqual([github.id]);
    expect(await server.services.federatedIdentities.find(acme.id, 'acme-unlink')).toBeUndefined();
    expect(await server.services.federatedIdentities.find(github.id, 'gh-unlink')).toEqual({ accountId: ada.id, email: null });
    const event = await eventually(async () => (await server.services.audit.list({ types: ['federation.unlinked'], limit: 100 })).find((e) => e.subject === ada.id));
    expect(event).toMatchObject({ actor: ada.id, subject: ada.id, details: { provider: 'acme-sso' } });
    // With a password, even the last link may go: the password is a way in.
    const last = expectPage(await post(ua, done, '/account/links/unlink'));
    expect(last.url.search).toBe('?done=unlinked');
    expect(linkForms(last.html)).toEqual([]);
    expect(section(last.html)).toContain('No other sign-ins are linked to your account.');
  });

  it('refuses what is not the signed-in person\'s own, a forged form, and no session, with exact statuses; nothing is unlinked', async () => {
    const ada = await newAccount();
    const bob = await newAccount();
    await link(ada.id, acme, 'ada-refusals');
    await link(bob.id, acme, 'bob-refusals');
    const ua = new UserAgent(origin());
    const page = await signInToAccount(ua, ada.email);
    const [form] = linkForms(page.html);
    const token = form!.fields.token!;
    const cases: { name: string; body: Record<string, string>; agent?: UserAgent; status: number; location?: string; text?: string }[] = [
      { name: 'no form token', body: { provider: acme.id }, status: 403 },
      { name: 'a wrong form token', body: { token: 'x'.repeat(43), provider: acme.id }, status: 403 },
      { name: 'a provider it has no link with', body: { token, provider: github.id }, status: 404, text: 'This linked sign-in does not exist (any more).' },
      { name: 'no provider', body: { token }, status: 404 },
      { name: 'a provider id with a NUL', body: { token, provider: 'x\u0000y' }, status: 404 },
      { name: 'a very long provider id', body: { token, provider: 'p'.repeat(10_000) }, status: 404 },
      { name: 'another browser, not signed in', body: { token, provider: acme.id }, agent: new UserAgent(origin()), status: 303, location: '/account' },
    ];
    for (const c of cases) {
      const answer = await rawPost(c.agent ?? ua, '/account/links/unlink', new URLSearchParams(c.body));
      expect(answer.status, c.name).toBe(c.status);
      if (c.location) expect(answer.location, c.name).toBe(c.location);
      if (c.text) expect(answer.text, c.name).toContain(c.text);
    }
    expect(await server.services.federatedIdentities.find(acme.id, 'ada-refusals')).toEqual({ accountId: ada.id, email: null });
    expect(await server.services.federatedIdentities.find(acme.id, 'bob-refusals')).toEqual({ accountId: bob.id, email: null });
  });

  it('never unlinks the last way in: no password, no passkey, only this link; a second link or a passkey lifts it', async () => {
    const ada = await newAccount();
    await link(ada.id, acme, 'last-acme');
    await link(ada.id, github, 'last-gh');
    const ua = new UserAgent(origin());
    await signInToAccount(ua, ada.email);
    await dropPassword(ada.id);

    // Two links: one may go.
    let page = expectPage(await ua.open('/account'));
    page = expectPage(await post(ua, page, '/account/links/unlink', {}, (fields) => fields.provider === github.id));
    expect(page.url.search).toBe('?done=unlinked');

    // The only one left: refused, readable, still linked.
    const refused = expectPage(await post(ua, page, '/account/links/unlink'));
    expect(refused.status).toBe(409);
    expect(alertIn(refused.html)).toBe('You cannot unlink Acme SSO: it is the only way to sign in to your account. Set a password or add a passkey first.');
    expect(await server.services.federatedIdentities.find(acme.id, 'last-acme')).toEqual({ accountId: ada.id, email: null });
    await eventually(async () => (await server.services.audit.list({ types: ['federation.unlinked'], limit: 100 })).find((e) => e.subject === ada.id));

    // With a passkey, it is not the last way in.
    await server.database.db.prisma.passkey.create({ data: { id: `cred-${ada.id}`, accountId: ada.id, name: 'Phone', publicKey: 'AQID', counter: 0 } });
    const allowed = expectPage(await post(ua, refused, '/account/links/unlink'));
    expect(allowed.url.search).toBe('?done=unlinked');
    expect(linkForms(allowed.html)).toEqual([]);
  });
});

describe('an account without a password', () => {
  const mailTo = (address: string, subject: RegExp) => eventually(() => sink.received.find((mail) => (mail.to as { text: string }).text === address && subject.test(mail.subject ?? '')));
  const resetLinkIn = (mail: ParsedMail) => /https?:\/\/\S+\/password\/reset\?token=[\w-]+/.exec(mail.text ?? '')?.[0];

  it('is offered a mailed link instead of the forms that ask for the current password, and refused them if posted', async () => {
    const ada = await newAccount();
    await link(ada.id, acme, 'nopw-forms');
    const ua = new UserAgent(origin());
    const before = await signInToAccount(ua, ada.email);
    const token = parseForms(before.html).find((form) => form.action === '/account/name')!.fields.token!;
    await dropPassword(ada.id);

    const page = expectPage(await ua.open('/account'));
    const actions = parseForms(page.html).map((form) => form.action);
    expect(actions).toContain('/account/password/link');
    for (const gated of ['/account/password', '/account/email', '/account/delete']) expect(actions, gated).not.toContain(gated);
    expect(page.html).toContain('Your account has no password yet: you sign in through a linked sign-in.');
    expect(page.html).toContain(`We email a link to <strong>${ada.email}</strong>`);
    expect(page.html).toContain('This needs your password, and your account has none yet.');

    // Posted anyway (an old page): refused without a password check.
    const cases: { action: string; body: Record<string, string> }[] = [
      { action: '/account/password', body: { current: '', password: 'a new password here' } },
      { action: '/account/email', body: { email: 'new@example.test', password: 'anything' } },
      { action: '/account/delete', body: { confirm: 'yes', password: 'anything' } },
      { action: '/account/mfa/totp/remove', body: { password: 'anything' } },
    ];
    for (const c of cases) {
      const answer = await rawPost(ua, c.action, new URLSearchParams({ token, ...c.body }));
      expect(answer.status, c.action).toBe(409);
      expect(answer.text, c.action).toContain('Your account has no password yet. Set one under &quot;Password&quot; first.');
    }
    expect(await server.services.accounts.findById(ada.id)).toMatchObject({ email: ada.email });
    expect(await server.services.accounts.hasPassword(ada.id)).toBe(false);
    // Its password sign-in fails like a wrong password's.
    const stranger = new UserAgent(origin());
    const login = expectPage(await stranger.open('/account'));
    const wrong = expectPage(await stranger.submit(login, { email: ada.email, password: PASSWORD }));
    expect(wrong.status).not.toBe(303);
    expect(heading(wrong)).toBe('Sign in');
  });

  it('sets its first password through the mailed link; then it signs in with it, and the page asks for it again', async () => {
    const ada = await newAccount();
    await link(ada.id, acme, 'nopw-link');
    const ua = new UserAgent(origin());
    await signInToAccount(ua, ada.email);
    await dropPassword(ada.id);

    const page = expectPage(await ua.open('/account'));
    const sent = expectPage(await post(ua, page, '/account/password/link'));
    expect(sent.url.search).toBe('?done=passwordLink');
    expect(sent.html).toContain('We sent you a link to set a password.');
    const mail = await mailTo(ada.email, /password/i);
    const url = resetLinkIn(mail)!;
    expect(url.startsWith(`${server.issuer}/password/reset?token=`)).toBe(true);
    await eventually(async () => (await server.services.audit.list({ types: ['account.password_reset_requested'], limit: 100 })).find((e) => e.subject === ada.id));

    const mailbox = new UserAgent(origin());
    const form = expectPage(await mailbox.open(url));
    expect(form.status).toBe(200);
    const set = expectPage(await mailbox.submit(form, { password: 'my first own password' }));
    expect(set.status).toBe(200);
    expect(await server.services.accounts.authenticate(ada.email, 'my first own password')).toMatchObject({ id: ada.id });
    expect(await server.services.accounts.hasPassword(ada.id)).toBe(true);

    const fresh = new UserAgent(origin());
    const login = expectPage(await fresh.open('/account'));
    const back = expectPage(await fresh.submit(login, { email: ada.email, password: 'my first own password' }));
    expect(heading(back)).toBe('Your account');
    expect(parseForms(back.html).map((f) => f.action)).toEqual(expect.arrayContaining(['/account/password', '/account/email', '/account/delete']));
    expect(parseForms(back.html).map((f) => f.action)).not.toContain('/account/password/link');
  });
});
