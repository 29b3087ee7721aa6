// Sign-up and email verification over HTTP and real SMTP: a relying party
// (openid-client) sends a person to Latchkey, they create an account inside
// that authorization request, the verify mail reaches an SMTP server in this
// process, and following its link in the same user agent finishes the
// request with email_verified true; in another user agent it verifies and
// says so. Dead links, refused entries, taken emails, CSRF, sign-up turned
// off and the abuse limits as tables with exact statuses; one link followed
// ten times at once wins once; a client that requires verified emails holds
// an unverified account's sign-in until the link is followed.
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, parseForms, UserAgent, type AuthorizationRequest, type RelyingParty, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { eventually, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const CALLBACK = 'https://app.example.test/cb';
const STRICT_CALLBACK = 'https://strict.example.test/cb';
const PASSWORD = 'a long and unusual passphrase';

let sink: SmtpSink;
let server: TestServer;
let web: { id: string; secret: string };

beforeAll(async () => {
  sink = await startSmtpSink();
  // Trusting X-Forwarded-For lets each test come from its own address, so the per-IP limits of one test never reach another.
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: sink.url, LATCHKEY_SIGNUP: 'open', LATCHKEY_TRUST_PROXY: 'true' } });
  const created = await server.services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK] });
  web = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

let addresses = 0;
/** A client address of its own for each caller. */
const freshIp = () => `10.20.${Math.floor(addresses / 250)}.${(addresses++ % 250) + 1}`;
let people = 0;
const freshEmail = (label = 'person') => `${label}${++people}@example.test`;

interface Visit {
  readonly rp: RelyingParty;
  readonly request: AuthorizationRequest;
  readonly uid: string;
  readonly form: Extract<Step, { kind: 'page' }>;
  readonly headers: Record<string, string>;
}

/** An authorization request of `clientId` opened in a fresh user agent, then its "Create an account" link. */
async function openSignup(ip = freshIp(), client = { id: web.id, secret: web.secret, callback: CALLBACK }): Promise<Visit> {
  const rp = await createRelyingParty({ issuer: server.issuer, clientId: client.id, clientSecret: client.secret, redirectUri: client.callback });
  const request = await rp.authorizationRequest({ scope: 'openid email profile' });
  const headers = { 'x-forwarded-for': ip };
  const login = expectPage(await rp.browser.open(request.url, { headers }));
  const href = /href="(\/interaction\/[^"]+\/signup)"/.exec(login.html)?.[1];
  if (!href) throw new Error(`no sign-up link on: ${login.html.slice(0, 400)}`);
  const form = expectPage(await rp.browser.open(href, { headers }));
  return { rp, request, uid: href.split('/')[2]!, form, headers };
}

const submit = (visit: Visit, values: Record<string, string>) => visit.rp.browser.submit(visit.form, values, undefined, { headers: visit.headers });

/** The `n`-th mail (1-based) to `address`, once it has arrived. */
async function mailTo(address: string, n = 1): Promise<ParsedMail> {
  await eventually(() => sink.to(address).length >= n);
  return sink.to(address)[n - 1]!;
}

function linkIn(mail: ParsedMail): URL {
  const link = /https?:\/\/\S+\/verify\?token=[\w-]+/.exec(mail.text ?? '')?.[0];
  if (!link) throw new Error(`no verify link in: ${mail.text}`);
  return new URL(link);
}

/** Signs up `email` and returns the visit and its verify link. */
async function signUp(email = freshEmail(), ip = freshIp()) {
  const visit = await openSignup(ip);
  const sent = expectPage(await submit(visit, { email, name: 'Ada Lovelace', password: PASSWORD }));
  expect(sent.status).toBe(200);
  expect(heading(sent)).toBe('Check your mail');
  return { visit, sent, email, link: linkIn(await mailTo(email)) };
}

/** Consent ("Allow"), the code, the tokens and userinfo. */
async function finishAtApp(visit: Visit, consent: Step) {
  expect(heading(consent)).toMatch(/wants to access your account$/);
  const callback = expectRedirect(await visit.rp.browser.submit(consent, {}, 'Allow'));
  expect(callback.origin + callback.pathname).toBe(CALLBACK);
  const tokens = await visit.rp.exchange(callback, visit.request);
  const claims = tokens.claims()!;
  return { claims, userinfo: await visit.rp.userinfo(tokens.access_token, claims.sub) };
}

const other = () => new UserAgent(new URL(server.issuer).origin);
const accountCount = () => server.database.db.prisma.account.count();
const mailRows = (to: string) => server.database.db.prisma.mailOutbox.count({ where: { to } });

describe('sign-up, then the link in the same browser', () => {
  it('creates an unverified account, mails an absolute link on the issuer, and the link finishes the request with email_verified true', async () => {
    const visit = await openSignup();
    expect(visit.form.status).toBe(200);
    expect(heading(visit.form)).toBe('Create an account');
    const [form] = parseForms(visit.form.html);
    expect(Object.keys(form!.fields).sort()).toEqual(['email', 'name', 'password', 'token']);
    expect(visit.form.html).toContain(`href="/interaction/${visit.uid}"`);

    const email = freshEmail('ada');
    const sent = expectPage(await submit(visit, { email: email.toUpperCase(), name: 'Ada Lovelace', password: PASSWORD }));
    expect([sent.status, heading(sent)]).toEqual([200, 'Check your mail']);
    expect(sent.html).toContain(`We sent a mail to ${email}.`);
    expect(sent.html).not.toContain(PASSWORD);
    const account = await server.services.accounts.findByEmail(email);
    expect(account).toMatchObject({ email, name: 'Ada Lovelace', emailVerified: false });

    const mail = await mailTo(email);
    expect(mail.subject).toContain(new URL(server.issuer).host);
    const link = linkIn(mail);
    expect(link.origin).toBe(new URL(server.issuer).origin);
    expect(link.pathname).toBe(`/interaction/${visit.uid}/verify`);
    expect(mail.html).toContain(link.href.replaceAll('&', '&amp;'));

    const consent = await visit.rp.browser.open(link, { headers: visit.headers });
    const { claims, userinfo } = await finishAtApp(visit, consent);
    expect(claims.sub).toBe(account!.id);
    expect(userinfo).toMatchObject({ sub: account!.id, email, email_verified: true, name: 'Ada Lovelace' });

    // The server writes audit events in batches.
    const findEvents = () => server.database.db.prisma.auditEvent.findMany({ where: { subject: account!.id }, orderBy: { id: 'asc' } });
    await eventually(async () => (await findEvents()).length >= 4);
    const events = await findEvents();
    const selfService = ['account.signup', 'account.verification_sent', 'account.email_verified', 'login.success'];
    expect(events.map((event) => event.type).filter((type) => selfService.includes(type))).toEqual(selfService);
    const stored = JSON.stringify(events);
    expect(stored).not.toContain(email);
    expect(stored).not.toContain(link.searchParams.get('token'));
  });

  it('in another user agent the link verifies and says so, with no code; the first browser, clicking after it (a mail scanner), still resumes', async () => {
    const { visit, email, link } = await signUp();
    const elsewhere = expectPage(await other().open(link));
    expect([elsewhere.status, heading(elsewhere)]).toEqual([200, 'Email address verified']);
    expect(elsewhere.html).toContain('Go back to the app and sign in.');
    expect((await server.services.accounts.findByEmail(email))!.emailVerified).toBe(true);

    const consent = await visit.rp.browser.open(link, { headers: visit.headers });
    expect((await finishAtApp(visit, consent)).userinfo).toMatchObject({ email, email_verified: true });
  });

  it('/email/verify (links from outside a sign-in) verifies without resuming anything', async () => {
    const email = freshEmail();
    const account = await server.services.accounts.create({ email, password: PASSWORD });
    const token = await server.services.accountTokens.issue({ purpose: 'verify_email', accountId: account.id, email });
    const done = expectPage(await other().open(`/email/verify?token=${token}`));
    expect([done.status, heading(done)]).toEqual([200, 'Email address verified']);
    expect((await server.services.accounts.findById(account.id))!.emailVerified).toBe(true);
  });

  it('a link followed in the browser of its sign-in after it died leads back to the check-your-mail page, whose resend mails a new one', async () => {
    const { visit, email, link } = await signUp();
    await server.database.db.prisma.accountToken.updateMany({ where: { email }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const back = expectPage(await visit.rp.browser.open(link, { headers: visit.headers }));
    expect([back.status, heading(back)]).toEqual([400, 'Check your mail']);
    expect(back.html).toContain('This link has expired');

    const resent = expectPage(await visit.rp.browser.submit(back, {}, undefined, { headers: visit.headers }));
    expect([resent.status, heading(resent)]).toEqual([200, 'Check your mail']);
    expect(resent.html).toContain('We sent the mail again.');
    const fresh = linkIn(await mailTo(email, 2));
    expect(fresh.href).not.toBe(link.href);
    const consent = await visit.rp.browser.open(fresh, { headers: visit.headers });
    expect((await finishAtApp(visit, consent)).userinfo).toMatchObject({ email, email_verified: true });
  });
});

describe('links that do not work', () => {
  const cases: { label: string; link: (link: URL, email: string) => Promise<URL>; status: number; title: string }[] = [
    {
      label: 'tampered token',
      link: async (link) => {
        const token = link.searchParams.get('token')!;
        const tampered = new URL(link);
        tampered.searchParams.set('token', (token[0] === 'A' ? 'B' : 'A') + token.slice(1));
        return tampered;
      },
      status: 400,
      title: 'This link does not work',
    },
    { label: 'no token', link: async (link) => new URL(link.pathname, link), status: 400, title: 'This link does not work' },
    { label: 'a token with a NUL', link: async (link) => new URL(`${link.pathname}?token=%00${'a'.repeat(42)}`, link), status: 400, title: 'This link does not work' },
    {
      label: 'reused link',
      link: async (link) => {
        expect((await other().open(link)).status).toBe(200);
        return link;
      },
      status: 400,
      title: 'This link was already used',
    },
    {
      label: 'expired link',
      link: async (link, email) => {
        await server.database.db.prisma.accountToken.updateMany({ where: { email }, data: { expiresAt: new Date(Date.now() - 1000) } });
        return link;
      },
      status: 400,
      title: 'This link has expired',
    },
    {
      label: 'link for an address the account no longer has',
      link: async (link, email) => {
        await server.database.db.prisma.account.update({ where: { email }, data: { email: `moved-${email}` } });
        return link;
      },
      status: 400,
      title: 'This link is for an old address',
    },
  ];

  it.each(cases)('$label → $status "$title", nothing verified', async ({ link: make, status, title }) => {
    const { email, link } = await signUp();
    const target = await make(link, email);
    const verifiedBefore = await server.database.db.prisma.account.count({ where: { emailVerified: true } });
    const answer = expectPage(await other().open(target, { headers: { 'x-forwarded-for': freshIp() } }));
    expect([answer.status, heading(answer)]).toEqual([status, title]);
    expect(answer.html).not.toContain(link.searchParams.get('token'));
    expect(await server.database.db.prisma.account.count({ where: { emailVerified: true } })).toBe(verifiedBefore);
  });

  it('ten parallel uses of one link: exactly one verifies, nine find it used', async () => {
    const { link } = await signUp();
    const answers = await Promise.all(Array.from({ length: 10 }, () => other().open(link)));
    const outcomes = answers.map((answer) => `${answer.status} ${heading(answer)}`).sort();
    expect(outcomes).toEqual(['200 Email address verified', ...Array(9).fill('400 This link was already used')]);
  });

  it('past the per-address limit on dead links: 429 with Retry-After', async () => {
    const ip = freshIp();
    const dead = new URL(`/email/verify?token=${'x'.repeat(43)}`, server.issuer);
    const statuses: number[] = [];
    for (let n = 0; n < 21; n++) statuses.push((await other().open(dead, { headers: { 'x-forwarded-for': ip } })).status);
    expect(statuses).toEqual([...Array(20).fill(400), 429]);
    const limited = expectPage(await other().open(dead, { headers: { 'x-forwarded-for': ip } }));
    expect([limited.status, heading(limited)]).toEqual([429, 'Too many links tried']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('entries the form refuses', () => {
  const cases: { label: string; values: Record<string, string>; message: string }[] = [
    { label: 'too short', values: { password: 'seven77' }, message: 'This password is too short: use at least 8 characters.' },
    { label: 'too long', values: { password: 'long '.repeat(52) }, message: 'This password is too long: use at most 256 characters.' },
    { label: 'common', values: { password: 'password' }, message: 'This password is one of the most common ones, which attackers try first. Choose another.' },
    { label: 'common in capitals', values: { password: 'Password1' }, message: 'This password is one of the most common ones, which attackers try first. Choose another.' },
    { label: 'not an email', values: { email: 'not-an-email' }, message: 'Enter a valid email address.' },
    { label: 'an email with a NUL', values: { email: 'nul\u0000@example.test' }, message: 'Enter a valid email address.' },
    { label: 'a name too long', values: { name: 'n'.repeat(201) }, message: 'Enter a name of at most 200 characters.' },
    { label: 'a name with a NUL', values: { name: 'Ada\u0000' }, message: 'The name contains characters that cannot be stored.' },
  ];

  it.each(cases)('$label → 400 with its message, email kept, password not echoed, nothing written', async ({ values }) => {
    const { message } = cases.find((c) => c.values === values)!;
    const visit = await openSignup();
    const email = freshEmail('refused');
    const entered = { email, name: 'Ada', password: PASSWORD, ...values };
    const accounts = await accountCount();
    const answer = expectPage(await submit(visit, entered));
    expect([answer.status, heading(answer)]).toEqual([400, 'Create an account']);
    expect(answer.html).toContain(`<p class="error" role="alert" id="signup-error">${message}</p>`);
    if (!values.email) expect(answer.html).toContain(`value="${email}"`);
    expect(answer.html).not.toContain(`value="${entered.password}"`);
    expect(await accountCount()).toBe(accounts);
    expect(await mailRows(email)).toBe(0);
  });
});

describe('a taken email', () => {
  it('gets the same status and page as a free one; its owner gets the signup-existing mail and nothing changes', async () => {
    const taken = freshEmail('owner');
    const owner = await server.services.accounts.create({ email: taken, password: 'the owner’s own password' });
    const free = freshEmail('newcomer');

    const pages = [];
    for (const email of [taken.toUpperCase(), free]) {
      const visit = await openSignup();
      const answer = expectPage(await submit(visit, { email, name: 'Mallory', password: PASSWORD }));
      const [form] = parseForms(answer.html);
      // The same page but for its interaction, its form token and the address.
      pages.push({ status: answer.status, shape: answer.html.replaceAll(visit.uid, 'UID').replaceAll(form!.fields.token!, 'TOKEN').replaceAll(email.toLowerCase(), 'EMAIL') });
    }
    expect(pages[0]).toEqual(pages[1]);
    expect(pages[0]!.status).toBe(200);

    const existing = await mailTo(taken);
    expect(existing.subject).toContain('tried to create an account with your address');
    expect(existing.text).not.toMatch(/verify\?token=/);
    expect(await server.database.db.prisma.account.count({ where: { email: taken } })).toBe(1);
    expect(await server.services.accounts.authenticate(taken, 'the owner’s own password')).toMatchObject({ id: owner.id, name: null });
    expect(await server.services.accounts.authenticate(taken, PASSWORD)).toBeUndefined();
    // The free address got its verify link.
    linkIn(await mailTo(free));
  });
});

describe('forms without their token (CSRF)', () => {
  const posts: { label: string; path: string; body: (visit: Visit) => Record<string, string> }[] = [
    { label: 'sign-up without a token', path: 'signup', body: () => ({ email: freshEmail('csrf'), password: PASSWORD }) },
    { label: "sign-up with another interaction's token", path: 'signup', body: () => ({ email: freshEmail('csrf'), password: PASSWORD, token: 'A'.repeat(43) }) },
    { label: 'resend without a token', path: 'verify/resend', body: () => ({ email: freshEmail('csrf') }) },
  ];

  it.each(posts)('$label → 403, nothing written or mailed', async ({ path, body }) => {
    const visit = await openSignup();
    const values = body(visit);
    const accounts = await accountCount();
    const answer = expectPage(await visit.rp.browser.post(`/interaction/${visit.uid}/${path}`, new URLSearchParams(values), visit.headers));
    expect(answer.status).toBe(403);
    expect(answer.html).toContain('invalid_form_token');
    expect(await accountCount()).toBe(accounts);
    expect(await mailRows(values.email!)).toBe(0);
  });
});

describe('abuse limits', () => {
  it('the 11th sign-up from one address gets 429 with Retry-After, and no mail', async () => {
    const ip = freshIp();
    const visit = await openSignup(ip);
    const statuses: number[] = [];
    for (let n = 0; n < 10; n++) statuses.push((await submit(visit, { email: freshEmail('burst'), password: PASSWORD })).status);
    expect(statuses).toEqual(Array(10).fill(200));
    const eleventh = freshEmail('burst');
    const accounts = await accountCount();
    const refused = expectPage(await submit(visit, { email: eleventh, password: PASSWORD }));
    expect([refused.status, heading(refused)]).toEqual([429, 'Create an account']);
    expect(refused.html).toMatch(/Too many requests from your network\. Try again in \d+ minutes?\./);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await accountCount()).toBe(accounts);
    expect(await mailRows(eleventh)).toBe(0);
  });

  it('resending to one address: five mails, then 429 and no more mail', async () => {
    const { visit, sent, email } = await signUp();
    let page = sent;
    for (let n = 2; n <= 5; n++) {
      page = expectPage(await visit.rp.browser.submit(page, {}, undefined, { headers: visit.headers }));
      expect(page.status).toBe(200);
      await mailTo(email, n);
    }
    const refused = expectPage(await visit.rp.browser.submit(page, {}, undefined, { headers: visit.headers }));
    expect([refused.status, heading(refused)]).toEqual([429, 'Check your mail']);
    expect(refused.html).toMatch(/Too many mails were asked for\. Try again in \d+ minutes?\./);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await mailRows(email)).toBe(5);
    // Only the newest link works: each resend retired the one before.
    const links = sink.to(email).map(linkIn);
    expect(new Set(links.map((link) => link.href)).size).toBe(5);
    expect(heading(await other().open(links[0]!))).toBe('This link was already used');
    expect(heading(await other().open(links[4]!))).toBe('Email address verified');
  });
});

describe('a client that requires verified emails', () => {
  it('holds an unverified account at "check your mail" instead of a code, and the link finishes the sign-in', async () => {
    const env = { DATABASE_URL: server.database.url };
    const created = await runCli(['client', 'create', '--name', 'Strict App', '--redirect-uri', STRICT_CALLBACK, '--require-verified-email', '--json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const { client, clientSecret } = JSON.parse(created.stdout) as { client: { clientId: string; requireVerifiedEmail: boolean }; clientSecret: string };
    expect(client.requireVerifiedEmail).toBe(true);

    const email = freshEmail('unverified');
    await server.services.accounts.create({ email, name: 'Una', password: PASSWORD });
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: client.clientId, clientSecret, redirectUri: STRICT_CALLBACK });
    const request = await rp.authorizationRequest({ scope: 'openid email' });
    const headers = { 'x-forwarded-for': freshIp() };
    const login = expectPage(await rp.browser.open(request.url, { headers }));
    const held = expectPage(await rp.browser.submit(login, { email, password: PASSWORD }, 'Sign in', { headers }));
    expect([held.status, heading(held)]).toEqual([200, 'Check your mail']);
    expect(held.html).toContain('<strong>Strict App</strong> needs a confirmed email address');

    const link = linkIn(await mailTo(email));
    const consent = await rp.browser.open(link, { headers });
    expect(heading(consent)).toMatch(/wants to access your account$/);
    const callback = expectRedirect(await rp.browser.submit(consent, {}, 'Allow'));
    const tokens = await rp.exchange(callback, request);
    expect(await rp.userinfo(tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email, email_verified: true });

    // A verified account signs in straight away.
    const again = await rp.authorizationRequest({ scope: 'openid email' });
    const fresh = new UserAgent(new URL(server.issuer).origin);
    const page = expectPage(await fresh.open(again.url, { headers }));
    expect(heading(await fresh.submit(page, { email, password: PASSWORD }, 'Sign in', { headers }))).toMatch(/wants to access your account$/);

    const updated = await runCli(['client', 'update', client.clientId, '--require-verified-email', 'false', '--json'], { env });
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout).client.requireVerifiedEmail).toBe(false);
    const refused = await runCli(['client', 'update', client.clientId, '--require-verified-email', 'maybe', '--json'], { env });
    expect(refused.code).toBe(2);
  });
});

describe('with sign-up off', () => {
  it('the login page offers no sign-up, and its paths answer the readable 404 page', async () => {
    const closed = await startTestServer({ env: { LATCHKEY_SMTP_URL: sink.url } });
    try {
      const created = await closed.services.clients.create({ name: 'Closed', redirectUris: [CALLBACK] });
      const rp = await createRelyingParty({ issuer: closed.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: CALLBACK });
      const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
      expect(login.html).not.toContain('/signup');
      const [form] = parseForms(login.html);
      const uid = login.url.pathname.split('/')[2]!;
      const shown = expectPage(await rp.browser.open(`/interaction/${uid}/signup`));
      expect([shown.status, heading(shown)]).toEqual([404, 'This page does not exist']);
      const posted = expectPage(await rp.browser.post(`/interaction/${uid}/signup`, new URLSearchParams({ token: form!.fields.token!, email: 'x@example.test', password: PASSWORD })));
      expect(posted.status).toBe(404);
      expect(await closed.database.db.prisma.account.count()).toBe(0);
    } finally {
      await closed.stop();
    }
  });
});
