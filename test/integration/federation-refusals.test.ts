// What a federated sign-in refuses, over HTTP, each case asserting the page's
// status and error code: a callback whose state does not match, one opened
// in a browser that did not start the round trip (login CSRF), the same
// callback twice (replay, with and without a copied cookie); ID tokens from
// another issuer or audience; an upstream that is down, misconfigured or
// says access_denied (a readable page with the way back, after which the
// password form still signs in); an email the upstream did not verify (no
// link to the account with that email, no new account: no takeover);
// sign-up closed; a disabled account; an unknown or disabled provider. The
// log names the provider and why, never a secret.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, expectPage, expectRedirect, heading, UserAgent, type RelyingParty, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { pageCode, pressButton, registerProvider, roundTripToUpstream, startFakeOidc, startUpstreamLatchkey, throughUpstream, type FakeOidc, type IdTokenTwist, type UpstreamLatchkey } from '../helpers/federation.ts';

const CALLBACK = 'https://app.example.test/cb';
const PASSWORD = 'correct horse battery staple';
const FAKE_SECRET = 'fake-client-secret-never-logged';

let downstream: TestServer;
let upstream: UpstreamLatchkey;
let fake: FakeOidc;
let clientId: string;
let clientSecret: string;
const logLines: string[] = [];

const newRp = (): Promise<RelyingParty> => createRelyingParty({ issuer: downstream.issuer, clientId, clientSecret, redirectUri: CALLBACK });

beforeAll(async () => {
  downstream = await startTestServer({
    env: { LATCHKEY_SIGNUP: 'open', LOG_LEVEL: 'info' },
    logTo: new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } }),
  });
  const created = await downstream.services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK] });
  clientId = created.client.clientId;
  clientSecret = created.clientSecret!;
  upstream = await startUpstreamLatchkey(downstream, 'acme-sso');
  await registerProvider(downstream, { name: 'Acme SSO', slug: 'acme-sso', issuer: upstream.server.issuer, clientId: upstream.clientId, clientSecret: upstream.clientSecret });
  fake = await startFakeOidc({ clientId: 'downstream', clientSecret: FAKE_SECRET });
  await registerProvider(downstream, { name: 'Fake IdP', slug: 'fake', issuer: fake.origin, clientId: 'downstream', clientSecret: FAKE_SECRET });
  await registerProvider(downstream, { name: 'Down IdP', slug: 'down', issuer: `http://127.0.0.1:${await freePort()}`, clientId: 'downstream', clientSecret: FAKE_SECRET });
  await downstream.services.identityProviders.create({ name: 'Off IdP', slug: 'off', issuer: fake.origin, clientId: 'downstream', clientSecret: FAKE_SECRET, enabled: false });
});

afterAll(async () => {
  await fake?.stop();
  await upstream?.stop();
  await downstream?.stop();
});

function refusal(step: Step, status: number, code: string) {
  const page = expectPage(step);
  expect({ status: page.status, code: pageCode(page) }).toEqual({ status, code });
  return page;
}

/** The way back the page offers, followed: the login page of the same sign-in, where the password still works. */
async function backToLoginAndSignIn(rp: RelyingParty, page: Extract<Step, { kind: 'page' }>, email: string, request: Awaited<ReturnType<RelyingParty['authorizationRequest']>>) {
  const back = /<a href="(\/interaction\/[^"]+)">Back to sign-in<\/a>/.exec(page.html)?.[1];
  expect(back).toBeTruthy();
  const login = await rp.browser.open(back!);
  expect(heading(login)).toBe('Sign in');
  const consent = await rp.browser.submit(login, { email, password: PASSWORD });
  const tokens = await rp.exchange(expectRedirect(await rp.browser.submit(consent, {}, 'Allow')), request);
  expect(tokens.claims()!.amr).toEqual(['pwd']);
}

const linksOf = (accountId: string) => downstream.services.federatedIdentities.listForAccount(accountId);

describe('callbacks that are refused', () => {
  const cases: [string, (rp: RelyingParty, callback: URL) => Promise<Step>, number, string][] = [
    ['a state that is not the one sent', (rp, callback) => {
      const forged = new URL(callback);
      forged.searchParams.set('state', 'forged-state');
      return rp.browser.open(forged);
    }, 400, 'federation_state_mismatch'],
    ['a callback opened in a browser that did not start it (login CSRF)', (_rp, callback) => new UserAgent(callback.origin).open(callback), 400, 'federation_state_missing'],
    ['the same callback a second time', async (rp, callback) => {
      await rp.browser.open(callback);
      return rp.browser.open(callback);
    }, 400, 'federation_state_missing'],
    ['the same callback again with a copy of the first one\'s cookie', async (rp, callback) => {
      const cookie = rp.browser.jar.header(callback);
      await rp.browser.open(callback);
      const replay = new UserAgent(callback.origin);
      return replay.open(callback, { headers: { cookie } });
    }, 400, 'federation_callback_replayed'],
    ['no state at all', (rp, callback) => {
      const bare = new URL(callback);
      bare.searchParams.delete('state');
      return rp.browser.open(bare);
    }, 400, 'federation_state_mismatch'],
  ];

  it.each(cases)('%s', async (_case, tamper, status, code) => {
    const person = await upstream.addPerson({ email: `csrf-${code}-${Math.random().toString(36).slice(2)}@example.test` });
    const rp = await newRp();
    const { callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: person.email });
    refusal(await tamper(rp, callback), status, code);
    // Nothing was made or linked with that upstream identity.
    expect(await downstream.services.accounts.findByEmail(person.email)).toBeUndefined();
  });

  it('the same callback five times at once, each with a copy of its cookie: exactly one goes on', async () => {
    const person = await upstream.addPerson({ email: `parallel-${Math.random().toString(36).slice(2)}@example.test` });
    const rp = await newRp();
    const { callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: person.email });
    const cookie = rp.browser.jar.header(callback)!;
    // Each stops where the one that goes on is sent: back into its interaction.
    const answers = await Promise.all(Array.from({ length: 5 }, () => new UserAgent(callback.origin, (url) => url.pathname.endsWith('/federation')).open(callback, { headers: { cookie } })));
    const onward = answers.filter((answer) => answer.kind === 'redirect');
    expect(onward).toHaveLength(1);
    expect(onward[0]!.url.pathname).toMatch(/^\/interaction\/[^/]+\/federation$/);
    // The others are refused as replays before any reaches the upstream: a second redemption of its code
    // would make the upstream revoke what it issued, and fail the one that goes on too.
    for (const refused of answers.filter((answer) => answer.kind === 'page')) {
      expect({ status: refused.status, code: pageCode(refused) }).toEqual({ status: 400, code: 'federation_callback_replayed' });
    }
  });

  it('an unknown provider\'s callback is a 404 page', async () => {
    refusal(await new UserAgent(new URL(downstream.issuer).origin).open('/federation/nobody/callback?code=x&state=y'), 404, 'unknown_identity_provider');
  });
});

describe('ID tokens that are refused', () => {
  const twists: [string, IdTokenTwist][] = [
    ['from another issuer', { iss: 'https://another-issuer.example.test' }],
    ['for another audience (another client)', { aud: 'another-client' }],
    ['with another nonce', { nonce: 'not-the-one-sent' }],
    ['signed with a key the upstream does not publish', { unknownKey: true }],
  ];

  it.each(twists)('%s: a readable page, nothing signed in, and the password form still works', async (_case, twist) => {
    fake.state.twist = twist;
    const email = `idtoken-${Math.random().toString(36).slice(2)}@example.test`;
    await downstream.services.accounts.create({ email, password: PASSWORD });
    fake.state.claims = { email, email_verified: true };
    const rp = await newRp();
    const round = await roundTripToUpstream(rp, fake.agent(), 'Fake IdP', { email });
    const page = refusal(await rp.browser.open(round.callback), 502, 'upstream_invalid_response');
    expect(heading(page)).toBe('The answer from Fake IdP could not be trusted');
    fake.state.twist = {};
    await backToLoginAndSignIn(rp, page, email, round.request);
  });
});

describe('upstreams that fail', () => {
  it('an upstream that is down: a readable page (502), the log says which and why, the password still works', async () => {
    const email = 'down@example.test';
    await downstream.services.accounts.create({ email, password: PASSWORD });
    const rp = await newRp();
    const request = await rp.authorizationRequest();
    const login = await rp.browser.open(request.url);
    const page = refusal(await pressButton(rp.browser, login, 'Continue with Down IdP'), 502, 'upstream_unreachable');
    expect(heading(page)).toBe('Down IdP cannot be reached');
    const line = logLines.find((text) => text.includes('"provider":"down"') && text.includes('upstream_unreachable'));
    expect(line).toMatch(/"why":"[^"]*(ECONNREFUSED|fetch failed)/);
    expect(logLines.join('')).not.toContain(FAKE_SECRET);
    await backToLoginAndSignIn(rp, page, email, request);
  });

  it('a discovery document naming another issuer: misconfigured, 502', async () => {
    fake.state.discoveredIssuer = 'https://elsewhere.example.test';
    try {
      // A new version of the provider: its discovery is fetched again.
      await downstream.services.identityProviders.update('fake', { scope: 'openid email' });
      const rp = await newRp();
      const login = await rp.browser.open((await rp.authorizationRequest()).url);
      refusal(await pressButton(rp.browser, login, 'Continue with Fake IdP'), 502, 'upstream_misconfigured');
    } finally {
      fake.state.discoveredIssuer = undefined;
    }
  });

  it('access_denied at the upstream (the person says no): a readable page with the way back', async () => {
    const person = await upstream.addPerson({ email: 'denier@example.test' });
    await downstream.services.accounts.create({ email: 'denier@example.test', password: PASSWORD });
    const rp = await newRp();
    const request = await rp.authorizationRequest();
    const started = await pressButton(rp.browser, await rp.browser.open(request.url), 'Continue with Acme SSO');
    if (started.kind !== 'redirect') throw new Error('expected a redirect to the upstream');
    const callback = await throughUpstream(upstream.agent(), started.url, { email: person.email }, 'Deny');
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const page = refusal(await rp.browser.open(callback), 400, 'access_denied');
    expect(heading(page)).toBe('Acme SSO did not sign you in');
    await backToLoginAndSignIn(rp, page, 'denier@example.test', request);
  });

  it('an unknown or disabled provider on the login form: 404', async () => {
    for (const slug of ['nobody', 'off']) {
      const rp = await newRp();
      const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
      const token = /name="token" value="([^"]+)"/.exec(login.html)![1]!;
      const uid = /\/interaction\/([^/"]+)\/login/.exec(login.html)![1]!;
      refusal(await rp.browser.post(`/interaction/${uid}/federation`, new URLSearchParams({ token, provider: slug })), 404, 'unknown_identity_provider');
    }
  });

  it('a start without the form token is refused (CSRF)', async () => {
    const rp = await newRp();
    const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
    const uid = /\/interaction\/([^/"]+)\/login/.exec(login.html)![1]!;
    refusal(await rp.browser.post(`/interaction/${uid}/federation`, new URLSearchParams({ token: 'x'.repeat(43), provider: 'acme-sso' })), 403, 'invalid_form_token');
  });
});

describe('accounts that are not taken over', () => {
  it('an email the upstream did not verify: no link to the account with that email, no sign-in, no new account', async () => {
    const victim = await downstream.services.accounts.create({ email: 'victim@example.test', password: PASSWORD });
    // Whoever runs an account at the upstream with someone else's address, unverified.
    const mallory = await upstream.addPerson({ email: 'victim@example.test', verified: false });
    const rp = await newRp();
    const { callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: mallory.email });
    const page = refusal(await rp.browser.open(callback), 403, 'email_unverified');
    expect(heading(page)).toBe('Acme SSO did not confirm your email address');
    expect(page.html).not.toContain('name="password"');
    expect(await linksOf(victim.id)).toEqual([]);
    // Nothing to press on the page that would link or sign in.
    expect(page.html).not.toMatch(/\/federation\/(link|create)/);
    // And straight to the link and create forms: refused as well.
    const token = await formTokenFor(rp, page);
    refusal(await rp.browser.post(`${interactionPath(page)}/federation/link`, new URLSearchParams({ token, password: PASSWORD })), 403, 'email_unverified');
    refusal(await rp.browser.post(`${interactionPath(page)}/federation/create`, new URLSearchParams({ token })), 403, 'email_unverified');
    expect(await linksOf(victim.id)).toEqual([]);
  });

  it('an unverified email with no account behind it: no account is made with it', async () => {
    const person = await upstream.addPerson({ email: 'unverified-new@example.test', verified: false });
    const rp = await newRp();
    const { callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: person.email });
    refusal(await rp.browser.open(callback), 403, 'email_unverified');
    expect(await downstream.services.accounts.findByEmail(person.email)).toBeUndefined();
  });

  it('linking without the account\'s password: refused, every time, and nothing linked', async () => {
    const target = await downstream.services.accounts.create({ email: 'target@example.test', password: PASSWORD });
    await upstream.addPerson({ email: 'target@example.test' });
    const rp = await newRp();
    const { callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: 'target@example.test' });
    let page = await rp.browser.open(callback);
    for (const password of ['', 'wrong', 'correct horse battery stapl']) {
      page = await pressButton(rp.browser, page, 'Link and continue', { password });
      expect(expectPage(page).status).toBe(400);
      expect(heading(page)).toBe('Link Acme SSO to your account');
    }
    expect(await linksOf(target.id)).toEqual([]);
    // The create form is not the way around it either: the email is taken.
    const token = await formTokenFor(rp, expectPage(page));
    const created = await rp.browser.post(`${interactionPath(expectPage(page))}/federation/create`, new URLSearchParams({ token }));
    expect(heading(created)).toBe('Link Acme SSO to your account');
    expect(await linksOf(target.id)).toEqual([]);
  });

  it('a disabled account is not signed in through its link', async () => {
    const person = await upstream.addPerson({ email: 'disabled@example.test' });
    const rp = await newRp();
    const first = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: person.email });
    await pressButton(rp.browser, await rp.browser.open(first.callback), 'Create account');
    const account = (await downstream.services.accounts.findByEmail(person.email))!;
    await downstream.services.accounts.edit(account.id, { disabled: true });
    const again = await newRp();
    const second = await roundTripToUpstream(again, upstream.agent(), 'Acme SSO', { email: person.email });
    refusal(await again.browser.open(second.callback), 403, 'account_disabled');
  });
});

describe('with sign-up closed', () => {
  it('a first federated sign-in without an account says so, and makes none', async () => {
    const closed = await startTestServer({ env: { LATCHKEY_SIGNUP: 'off' } });
    try {
      const app = await closed.services.clients.create({ name: 'Closed app', redirectUris: [CALLBACK] });
      await closed.services.identityProviders.create({ name: 'Fake IdP', slug: 'fake', issuer: fake.origin, clientId: 'downstream', clientSecret: FAKE_SECRET });
      fake.state.claims = { email: 'newcomer@example.test', email_verified: true };
      const rp = await createRelyingParty({ issuer: closed.issuer, clientId: app.client.clientId, clientSecret: app.clientSecret!, redirectUri: CALLBACK });
      const round = await roundTripToUpstream(rp, fake.agent(), 'Fake IdP', { email: 'newcomer@example.test' });
      const page = refusal(await rp.browser.open(round.callback), 403, 'signup_closed');
      expect(heading(page)).toBe('No account for this sign-in');
      expect(await closed.services.accounts.findByEmail('newcomer@example.test')).toBeUndefined();
    } finally {
      await closed.stop();
    }
  });
});

/** The form token of the interaction a page belongs to, from a fresh render of its login page. */
async function formTokenFor(rp: RelyingParty, page: Extract<Step, { kind: 'page' }>): Promise<string> {
  const login = expectPage(await rp.browser.open(interactionPath(page)));
  return /name="token" value="([^"]+)"/.exec(login.html)![1]!;
}

function interactionPath(page: Extract<Step, { kind: 'page' }>): string {
  const uid = /\/interaction\/([^/"?]+)/.exec(page.html)?.[1] ?? /\/interaction\/([^/?]+)/.exec(page.url.pathname)?.[1];
  return `/interaction/${uid}`;
}
