// The account page, /account, over real HTTP with a real SMTP server: a
// browser without a session is sent through the built-in account client's
// sign-in and comes back to the page; each action's effect is checked where
// it shows (a revoked grant's refresh token, another browser's session, the
// old password at the login page, the mails and their link, the deleted
// account's tokens and its audit event). Refusals as tables with exact
// statuses, and ten parallel uses of one change-email link: one change.
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_CLIENT_ID } from '../../src/oidc/account-client.ts';
import { createRelyingParty, expectPage, heading, oauthError, parseForms, signInAndAllow, UserAgent, type RelyingParty, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpUrl, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const PASSWORD = 'correct horse battery staple';
const OFFLINE = { scope: 'openid offline_access', prompt: 'consent' };
const CALLBACK = 'https://app.example.test/cb';

let sink: SmtpSink;
let server: TestServer;
let app: { id: string; secret: string };

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestServer({ env: { LATCHKEY_SMTP_URL: smtpUrl(sink.port) } });
  const created = await server.services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] });
  app = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

let accounts = 0;
/** A fresh account for one test: tests do not share sessions, grants or throttle counts. */
async function newAccount(name = 'Ada Lovelace') {
  const email = `person${++accounts}@example.test`;
  const account = await server.services.accounts.create({ email, name, password: PASSWORD });
  return { id: account.id, email };
}

const relyingParty = () => createRelyingParty({ issuer: server.issuer, clientId: app.id, clientSecret: app.secret, redirectUri: CALLBACK });

/** Opens /account in `ua`, signs in on the login page it is sent to, and returns the account page it comes back to. */
async function signInToAccount(ua: UserAgent, email: string, password = PASSWORD): Promise<Extract<Step, { kind: 'page' }>> {
  const login = expectPage(await ua.open('/account'));
  expect(heading(login)).toBe('Sign in');
  const back = expectPage(await ua.submit(login, { email, password }));
  expect(back.url.pathname).toBe('/account');
  expect(heading(back)).toBe('Your account');
  return back;
}

/** Fills and posts the page's form whose action is `action`. */
function post(ua: UserAgent, page: Step, action: string, values: Record<string, string> = {}): Promise<Step> {
  const form = parseForms(expectPage(page).html).find((candidate) => candidate.action === action);
  if (!form) throw new Error(`no form for ${action}`);
  return ua.post(action, new URLSearchParams({ ...form.fields, ...values }));
}

/** POSTs without following the redirect: the status and Location as sent. */
async function rawPost(ua: UserAgent, action: string, body: URLSearchParams) {
  const url = new URL(action, server.issuer);
  const response = await fetch(url, { method: 'POST', headers: { cookie: ua.jar.header(url), 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
  await response.body?.cancel();
  return { status: response.status, location: response.headers.get('location') };
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

const mailTo = (address: string, template: RegExp) => eventually(() => sink.received.find((mail) => (mail.to as { text: string }).text === address && template.test(mail.subject ?? '')));
const linkIn = (mail: ParsedMail) => /https?:\/\/\S+\/account\/email\/confirm\?token=[\w-]+/.exec(mail.text ?? '')![0];
const auditOf = (type: string, subject: string) => eventually(async () => (await server.services.audit.list({ types: [type], limit: 1000 })).find((event) => event.subject === subject));

async function offlineTokens(rp: RelyingParty, email: string) {
  const { request, callback } = await signInAndAllow(rp, { email, password: PASSWORD }, OFFLINE);
  const tokens = await rp.exchange(callback, request);
  expect(tokens.refresh_token).toEqual(expect.any(String));
  return tokens.refresh_token!;
}

describe('signing in to the account page', () => {
  it('sends a browser without a session through the built-in client (response_type=none) and back to /account', async () => {
    const response = await fetch(`${server.issuer}/account`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.pathname).toBe('/auth');
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ client_id: ACCOUNT_CLIENT_ID, response_type: 'none', scope: 'openid', redirect_uri: `${server.issuer}/account/callback` });
    const stateCookie = response.headers.getSetCookie().find((cookie) => cookie.startsWith('latchkey.account_state='))!;
    expect(stateCookie).toMatch(/path=\/account/);
    expect(stateCookie).toMatch(/httponly/);
    expect(stateCookie).toMatch(/samesite=lax/);

    const ada = await newAccount();
    const page = await signInToAccount(new UserAgent(new URL(server.issuer).origin), ada.email);
    expect(page.html).toContain(ada.email);
    expect(page.html).toContain('not verified');
    expect(page.headers.get('cache-control')).toBe('no-store');
    // No consent page for Latchkey's own page, and no grant stored for it.
    const grants = await server.database.db.prisma.oidcArtifact.findMany({ where: { model: 'Grant', accountId: ada.id } });
    expect(grants).toEqual([]);
  });

  it.each([
    ['no state cookie, a state', (ua: UserAgent) => ua.open('/account/callback?state=abc')],
    ['a state cookie, another state', async (ua: UserAgent) => (await ua.open('/account'), ua.open('/account/callback?state=not-the-one'))],
    ['a state cookie, an error from the sign-in', async (ua: UserAgent) => {
      const login = expectPage(await ua.open('/account'));
      return ua.submit(login, {}, 'Cancel');
    }],
  ])('answers a callback with %s by a 400 page, not a sign-in', async (_case, run) => {
    const ua = new UserAgent(new URL(server.issuer).origin);
    const step = expectPage(await run(ua));
    expect(step.status).toBe(400);
    expect(heading(step)).toBe('Sign-in was not completed');
  });

  it('cannot be used for tokens: no code flow, no grant at the token endpoint, not in the registry', async () => {
    const response = await fetch(`${server.issuer}/auth?${new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, response_type: 'code', scope: 'openid', redirect_uri: `${server.issuer}/account/callback`, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    // oidc-provider sends the error to the redirect URI, which is Latchkey's own.
    const refused = new URL(response.headers.get('location')!);
    expect(refused.pathname).toBe('/account/callback');
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('error_description')).toBe('requested response_type is not allowed for this client');
    const grants: Record<string, string>[] = [{ grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: `${server.issuer}/account/callback`, code_verifier: 'x'.repeat(43) }, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }, { grant_type: 'client_credentials' }];
    for (const grant of grants) {
      const token = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, ...grant }) });
      expect(token.status, grant.grant_type).toBe(400);
      expect(((await token.json()) as { error: string }).error, grant.grant_type).toBe('unauthorized_client');
    }
    const registered = await server.services.clients.list();
    expect(registered.map((client) => client.clientId)).not.toContain(ACCOUNT_CLIENT_ID);
  });

  it('keeps registered clients off response_type=none', async () => {
    const rp = await relyingParty();
    const request = await rp.authorizationRequest({ response_type: 'none' });
    const step = await rp.browser.open(request.url);
    expect(step.kind).toBe('redirect');
    expect(step.url.searchParams.get('error')).toBe('invalid_request');
    expect(step.url.searchParams.get('error_description')).toBe('requested response_type is not allowed for this client');
  });
});

describe('actions', () => {
  it('changes the name', async () => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    const done = expectPage(await post(ua, page, '/account/name', { name: 'Ada King' }));
    expect(done.url.pathname + done.url.search).toBe('/account?done=name');
    expect(done.html).toContain('Your name was saved.');
    expect(done.html).toContain('value="Ada King"');
    expect((await server.services.accounts.findById(ada.id))!.name).toBe('Ada King');
    expect((await auditOf('account.name_changed', ada.id)).actor).toBe(ada.id);
  });

  it('changes the email: the link goes to the new address, the old one is told, the new one is verified', async () => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    const done = expectPage(await post(ua, page, '/account/email', { email: ' Ada.New@Example.test ', password: PASSWORD }));
    expect(done.html).toContain('We sent a confirmation link to the new address.');
    // Nothing changes until the link is opened.
    expect((await server.services.accounts.findById(ada.id))!.email).toBe(ada.email);

    const link = linkIn(await mailTo('ada.new@example.test', /./));
    expect(link.startsWith(`${server.issuer}/account/email/confirm?token=`)).toBe(true);
    // Any browser: a fresh one, not signed in.
    const confirmed = expectPage(await new UserAgent(new URL(server.issuer).origin).open(link));
    expect(confirmed.status).toBe(200);
    expect(heading(confirmed)).toBe('Email address changed');
    const account = (await server.services.accounts.findById(ada.id))!;
    expect(account).toMatchObject({ email: 'ada.new@example.test', emailVerified: true });

    const notice = await mailTo(ada.email, /./);
    expect(notice.text).toContain(`from ${ada.email} to ada.new@example.test`);
    await auditOf('account.email_change_requested', ada.id);
    await auditOf('account.email_changed', ada.id);
    // The page, still signed in, shows the new address as verified.
    const after = expectPage(await ua.open('/account'));
    expect(after.html).toContain('ada.new@example.test');
    expect(after.html).toContain('>verified<');
  });

  it('answers a taken address as a free one, and mails it nothing', async () => {
    const ada = await newAccount();
    const bob = await newAccount('Bob');
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    const done = expectPage(await post(ua, page, '/account/email', { email: bob.email, password: PASSWORD }));
    expect(done.status).toBe(200);
    expect(done.url.search).toBe('?done=email');
    const queued = await server.database.db.prisma.mailOutbox.count({ where: { to: bob.email } });
    expect(queued).toBe(0);
  });

  it('changes the password: old one refused, this browser still signed in, the other signed out, tokens revoked', async () => {
    const ada = await newAccount();
    const rp = await relyingParty();
    const refreshToken = await offlineTokens(rp, ada.email);
    const here = new UserAgent(new URL(server.issuer).origin);
    const elsewhere = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(here, ada.email);
    await signInToAccount(elsewhere, ada.email);

    const newPassword = 'an entirely new passphrase';
    const done = expectPage(await post(here, page, '/account/password', { current: PASSWORD, password: newPassword }));
    expect(done.url.search).toBe('?done=password');
    expect(heading(expectPage(await here.open('/account')))).toBe('Your account');
    expect(heading(expectPage(await elsewhere.open('/account')))).toBe('Sign in');
    expect(await oauthError(rp.refresh(refreshToken))).toBe('invalid_grant');

    const login = expectPage(await new UserAgent(new URL(server.issuer).origin).open('/account'));
    const refused = expectPage(await new UserAgent(new URL(server.issuer).origin).submit(login, { email: ada.email, password: PASSWORD }));
    expect(refused.status).toBe(400);
    await signInToAccount(new UserAgent(new URL(server.issuer).origin), ada.email, newPassword);
    expect((await mailTo(ada.email, /password/i)).text).toContain('was just changed');
    await auditOf('account.password_changed', ada.id);
  });

  it("lists the apps allowed with their scopes and removes one: its refresh token is refused, another person's grant is untouched", async () => {
    const ada = await newAccount();
    const bob = await newAccount('Bob');
    const adaRp = await relyingParty();
    const bobRp = await relyingParty();
    const adaRefresh = await offlineTokens(adaRp, ada.email);
    const bobRefresh = await offlineTokens(bobRp, bob.email);

    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    expect(page.html).toContain('Photo Album');
    expect(page.html).toContain('<code>offline_access</code>');
    expect(page.html).not.toContain(ACCOUNT_CLIENT_ID);
    const forms = parseForms(page.html).filter((form) => form.action === '/account/apps/revoke');
    expect(forms).toHaveLength(1);

    // Bob's grant key, posted from Ada's page: not found, and Bob's token still works.
    const bobUa = new UserAgent(new URL(server.issuer).origin);
    const bobPage = await signInToAccount(bobUa, bob.email);
    const bobKey = parseForms(bobPage.html).find((form) => form.action === '/account/apps/revoke')!.fields.grant!;
    const foreign = expectPage(await post(ua, page, '/account/apps/revoke', { grant: bobKey }));
    expect(foreign.status).toBe(404);
    expect((await bobRp.refresh(bobRefresh)).access_token).toEqual(expect.any(String));

    const done = expectPage(await post(ua, page, '/account/apps/revoke'));
    expect(done.url.search).toBe('?done=app');
    expect(done.html).toContain('You have not allowed any app.');
    expect(await oauthError(adaRp.refresh(adaRefresh))).toBe('invalid_grant');
    expect((await auditOf('account.grant_revoked', ada.id)).clientId).toBe(app.id);
  });

  it('lists where the person is signed in and signs out the other browsers', async () => {
    const ada = await newAccount();
    const here = new UserAgent(new URL(server.issuer).origin);
    const elsewhere = new UserAgent(new URL(server.issuer).origin);
    await signInToAccount(elsewhere, ada.email);
    const page = await signInToAccount(here, ada.email);
    expect(page.html.match(/Signed in (?!as)/g)).toHaveLength(2);
    expect(page.html.match(/this browser/g)).toHaveLength(1);

    const done = expectPage(await post(here, page, '/account/sessions/end'));
    expect(done.url.search).toBe('?done=sessions');
    expect(done.html).toContain('No other browser is signed in.');
    expect(heading(expectPage(await elsewhere.open('/account')))).toBe('Sign in');
    expect((await auditOf('account.sessions_ended', ada.id)).details).toEqual({ count: 1 });
  });

  it('deletes the account: grants, sessions and tokens go, the audit event stays', async () => {
    const ada = await newAccount();
    const rp = await relyingParty();
    const refreshToken = await offlineTokens(rp, ada.email);
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    await server.services.accountTokens.issue({ purpose: 'verify_email', accountId: ada.id, email: ada.email });

    const unconfirmed = expectPage(await post(ua, page, '/account/delete', { password: PASSWORD, confirm: '' }));
    expect(unconfirmed.status).toBe(400);
    const deleted = expectPage(await post(ua, page, '/account/delete', { password: PASSWORD, confirm: 'yes' }));
    expect(deleted.status).toBe(200);
    expect(heading(deleted)).toBe('Account deleted');

    expect(await server.services.accounts.findById(ada.id)).toBeUndefined();
    expect(await oauthError(rp.refresh(refreshToken))).toBe('invalid_grant');
    const prisma = server.database.db.prisma;
    expect(await prisma.oidcArtifact.count({ where: { accountId: ada.id } })).toBe(0);
    expect(await prisma.accountToken.count({ where: { accountId: ada.id } })).toBe(0);
    expect((await auditOf('account.deleted', ada.id)).actor).toBe(ada.id);
    expect(heading(expectPage(await ua.open('/account')))).toBe('Sign in');
  });
});

describe('refusals', () => {
  const FORMS = ['/account/name', '/account/email', '/account/password', '/account/apps/revoke', '/account/sessions/end', '/account/delete'];

  it.each(FORMS)('POST %s without the form token, or with another session\'s: 403, nothing done', async (action) => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    const other = await signInToAccount(new UserAgent(new URL(server.issuer).origin), ada.email);
    const fields = parseForms(page.html).find((form) => form.action === action)?.fields ?? {};
    const values = { ...fields, name: 'Mallory', password: PASSWORD, current: PASSWORD, confirm: 'yes', email: 'mallory@example.test' };
    const { token: _token, ...withoutToken } = values as Record<string, string>;
    expect((await rawPost(ua, action, new URLSearchParams(withoutToken))).status).toBe(403);
    const foreignToken = parseForms(other.html)[0]!.fields.token!;
    expect((await rawPost(ua, action, new URLSearchParams({ ...withoutToken, token: foreignToken }))).status).toBe(403);
    const account = await server.services.accounts.findById(ada.id);
    expect(account).toMatchObject({ email: ada.email, name: 'Ada Lovelace' });
  });

  it('sends a POST from a browser without a session to /account (to sign in), doing nothing', async () => {
    const ua = new UserAgent(new URL(server.issuer).origin);
    expect(await rawPost(ua, '/account/name', new URLSearchParams({ name: 'x', token: 'x'.repeat(43) }))).toEqual({ status: 303, location: '/account' });
  });

  it.each([
    ['/account/name', 'a name too long', { name: 'A'.repeat(201) }, 'at most 200 characters'],
    ['/account/name', 'a NUL in the name', { name: 'Ada\u0000' }, 'no control characters'],
    ['/account/name', 'a control character in the name', { name: 'Ada\u0007' }, 'no control characters'],
    ['/account/email', 'not an email', { email: 'not-an-email', password: PASSWORD }, 'Enter a valid email address.'],
    ['/account/email', 'a NUL in the email', { email: 'ada\u0000@example.test', password: PASSWORD }, 'Enter a valid email address.'],
    ['/account/email', 'wrong current password', { email: 'x@example.test', password: 'not my password' }, 'That is not your current password.'],
    ['/account/password', 'wrong current password', { current: 'not my password', password: 'a perfectly fine new one' }, 'That is not your current password.'],
    ['/account/password', 'too short', { current: PASSWORD, password: 'short' }, 'too short'],
    ['/account/password', 'too long', { current: PASSWORD, password: 'x'.repeat(257) }, 'too long'],
    ['/account/password', 'common', { current: PASSWORD, password: 'password123' }, 'most common ones'],
    ['/account/delete', 'wrong current password', { password: 'not my password', confirm: 'yes' }, 'That is not your current password.'],
    ['/account/delete', 'not confirmed', { password: PASSWORD }, 'Tick the box'],
    ['/account/apps/revoke', 'no such grant', { grant: 'no-such-grant' }, 'does not exist'],
  ])('POST %s, %s: the page again, with a readable message', async (action, _case, values, words) => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    const token = parseForms(page.html)[0]!.fields.token!;
    const refused = expectPage(await ua.post(action, new URLSearchParams({ token, ...values })));
    expect(refused.status).toBe(action === '/account/apps/revoke' ? 404 : 400);
    expect(refused.html).toContain(words);
    expect(heading(refused)).toBe('Your account');
    expect(await server.services.accounts.findById(ada.id)).toMatchObject({ email: ada.email, name: 'Ada Lovelace' });
    expect(await server.services.accounts.authenticate(ada.email, PASSWORD)).toBeDefined();
  });

  it('throttles guesses at the current password like the login page (429 with Retry-After)', async () => {
    const ada = await newAccount();
    const ua = new UserAgent(new URL(server.issuer).origin);
    const page = await signInToAccount(ua, ada.email);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 7; attempt++) {
      const step = expectPage(await post(ua, page, '/account/password', { current: `wrong guess ${attempt}`, password: 'a perfectly fine new one' }));
      statuses.push(step.status);
      retryAfter ??= step.headers.get('retry-after');
    }
    expect(statuses.slice(0, 4)).toEqual([400, 400, 400, 400]);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Throttled, even the right password is not looked at.
    const blocked = expectPage(await post(ua, page, '/account/password', { current: PASSWORD, password: 'a perfectly fine new one' }));
    expect(blocked.status).toBe(429);
  });

  describe('the change-email link', () => {
    async function requestedLink(newEmail: string) {
      const ada = await newAccount();
      const ua = new UserAgent(new URL(server.issuer).origin);
      const page = await signInToAccount(ua, ada.email);
      await post(ua, page, '/account/email', { email: newEmail, password: PASSWORD });
      return { ada, link: linkIn(await mailTo(newEmail, /./)) };
    }
    const open = (link: string) => new UserAgent(new URL(server.issuer).origin).open(link).then(expectPage);

    it.each([
      ['tampered', (link: string) => `${link.slice(0, -2)}${link.endsWith('AA') ? 'BB' : 'AA'}`],
      ['cut short', (link: string) => link.slice(0, -5)],
      ['without a token', (link: string) => link.slice(0, link.indexOf('?'))],
      ['with a NUL', (link: string) => `${link}%00`],
    ])('%s: 400, nothing changed', async (_case, change) => {
      const { ada, link } = await requestedLink(`tamper${++accounts}@example.test`);
      const step = await open(change(link));
      expect(step.status).toBe(400);
      expect(heading(step)).toBe('This link does not work');
      expect((await server.services.accounts.findById(ada.id))!.email).toBe(ada.email);
    });

    it('used once: a second use is 400', async () => {
      const { link } = await requestedLink(`reuse${++accounts}@example.test`);
      expect((await open(link)).status).toBe(200);
      expect((await open(link)).status).toBe(400);
    });

    it('expired: 400, nothing changed', async () => {
      const { ada, link } = await requestedLink(`late${++accounts}@example.test`);
      await server.database.db.prisma.accountToken.updateMany({ where: { accountId: ada.id, purpose: 'change_email' }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect((await open(link)).status).toBe(400);
      expect((await server.services.accounts.findById(ada.id))!.email).toBe(ada.email);
    });

    it('taken meanwhile by another account: a readable 409, the address unchanged', async () => {
      const address = `contested${++accounts}@example.test`;
      const { ada, link } = await requestedLink(address);
      await server.services.accounts.create({ email: address, password: PASSWORD });
      const step = await open(link);
      expect(step.status).toBe(409);
      expect(step.html).toContain('Another account uses this address now');
      expect((await server.services.accounts.findById(ada.id))!.email).toBe(ada.email);
    });

    it('ten parallel uses of one link: exactly one changes the address', async () => {
      const address = `parallel${++accounts}@example.test`;
      const { ada, link } = await requestedLink(address);
      const steps = await Promise.all(Array.from({ length: 10 }, () => open(link)));
      const statuses = steps.map((step) => step.status).sort();
      expect(statuses).toEqual([200, ...Array(9).fill(400)]);
      expect((await server.services.accounts.findById(ada.id))!.email).toBe(address);
      const changed = await eventually(async () => {
        const events = (await server.services.audit.list({ types: ['account.email_changed'], limit: 1000 })).filter((event) => event.subject === ada.id);
        return events.length ? events : undefined;
      });
      expect(changed).toHaveLength(1);
      const notices = sink.received.filter((mail) => (mail.to as { text: string }).text === ada.email);
      expect(notices.length).toBeLessThanOrEqual(1);
    });
  });
});
