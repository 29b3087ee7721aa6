// Signing in to Latchkey through an upstream identity provider, over HTTP:
// Latchkey federating with a second Latchkey (its own database, on
// localhost), with openid-client as the relying party. The first sign-in
// creates an account after the confirmation page; the next signs in straight
// away; an existing account is linked only with its password; the ID token
// says amr fed and names the provider (idp); a second factor still applies;
// the audit trail has each step. GitHub's plain OAuth 2.0 end to end against
// a stand-in for its token endpoint and API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeAt, enrol } from '../helpers/mfa.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, UserAgent, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { pageCode, pressButton, registerProvider, roundTripToUpstream, startFakeGithub, startUpstreamLatchkey, type FakeGithub, type UpstreamLatchkey } from '../helpers/federation.ts';

const CALLBACK = 'https://app.example.test/cb';
const PASSWORD = 'correct horse battery staple';

let downstream: TestServer;
let upstream: UpstreamLatchkey;
let github: FakeGithub;
let clientId: string;
let clientSecret: string;

const newRp = (): Promise<RelyingParty> => createRelyingParty({ issuer: downstream.issuer, clientId, clientSecret, redirectUri: CALLBACK });

beforeAll(async () => {
  downstream = await startTestServer({ env: { LATCHKEY_SIGNUP: 'open' } });
  const created = await downstream.services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK] });
  clientId = created.client.clientId;
  clientSecret = created.clientSecret!;
  upstream = await startUpstreamLatchkey(downstream, 'acme-sso');
  await registerProvider(downstream, { name: 'Acme SSO', slug: 'acme-sso', issuer: upstream.server.issuer, clientId: upstream.clientId, clientSecret: upstream.clientSecret });
  github = await startFakeGithub({ clientId: 'gh-client', clientSecret: 'gh-secret' });
  await registerProvider(downstream, { name: 'GitHub', slug: 'github', type: 'github', issuer: github.origin, clientId: 'gh-client', clientSecret: 'gh-secret' });
});

afterAll(async () => {
  await github?.stop();
  await upstream?.stop();
  await downstream?.stop();
});

/** The downstream's consent page (Allow) to the RP's callback, and the code exchanged. */
async function allowAndExchange(rp: RelyingParty, consent: Awaited<ReturnType<RelyingParty['browser']['open']>>, request: Awaited<ReturnType<RelyingParty['authorizationRequest']>>) {
  if (!heading(consent)?.endsWith('wants to access your account')) throw new Error(`expected the consent page, got: ${expectPage(consent).html.slice(0, 600)}`);
  const callback = expectRedirect(await rp.browser.submit(consent, {}, 'Allow'));
  return rp.exchange(callback, request);
}

/** The server writes audit events in batches, off the response path: waits (bounded) for `count` of them about `subject`. */
async function eventsAbout(subject: string, types: readonly string[], count: number) {
  const read = async () => (await downstream.services.audit.list({ types, limit: 200 })).filter((event) => event.subject === subject);
  for (let waited = 0; (await read()).length < count && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return read();
}

describe('the login page', () => {
  it('shows a "Continue with <name>" button for each enabled provider, after the password form', async () => {
    const rp = await newRp();
    const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
    expect(login.html).toContain('>Continue with Acme SSO</button>');
    expect(login.html).toContain('>Continue with GitHub</button>');
    expect(login.html.indexOf('Continue with Acme SSO')).toBeGreaterThan(login.html.indexOf('name="password"'));
  });

  it('does not show a disabled provider', async () => {
    await downstream.services.identityProviders.create({ name: 'Dormant', slug: 'dormant', issuer: upstream.server.issuer, clientId: 'x', clientSecret: 'y', enabled: false });
    const rp = await newRp();
    const login = expectPage(await rp.browser.open((await rp.authorizationRequest()).url));
    expect(login.html).not.toContain('Continue with Dormant');
  });
});

describe('a first sign-in with an upstream identity', () => {
  it('asks for confirmation, creates the account, links it, and the ID token says fed and names the provider', async () => {
    await upstream.addPerson({ email: 'grace@example.test', name: 'Grace Hopper' });
    const rp = await newRp();
    const { request, callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: 'grace@example.test' }, { scope: 'openid email profile' });
    expect(callback.pathname).toBe('/federation/acme-sso/callback');
    const confirm = await rp.browser.open(callback);
    expect(heading(confirm)).toBe('Create an account with Acme SSO');
    expect(expectPage(confirm).html).toContain('grace@example.test');
    // Nothing exists before the person says so.
    expect(await downstream.services.accounts.findByEmail('grace@example.test')).toBeUndefined();

    const tokens = await allowAndExchange(rp, await pressButton(rp.browser, confirm, 'Create account'), request);
    const claims = tokens.claims()!;
    expect(claims.amr).toEqual(['fed']);
    expect(claims.idp).toBe('Acme SSO');
    expect(claims.acr).toBe('urn:latchkey:acr:password');
    const account = await downstream.services.accounts.findByEmail('grace@example.test');
    expect(account).toMatchObject({ id: claims.sub, emailVerified: true, name: 'Grace Hopper' });
    expect(await downstream.services.accounts.hasPassword(claims.sub)).toBe(false);
    expect(await rp.userinfo(tokens.access_token, claims.sub)).toMatchObject({ email: 'grace@example.test', email_verified: true, name: 'Grace Hopper' });

    const provider = (await downstream.services.identityProviders.findBySlug('acme-sso'))!;
    expect(await downstream.services.federatedIdentities.listForAccount(account!.id)).toEqual([expect.objectContaining({ providerId: provider.id })]);
    const events = await eventsAbout(account!.id, ['account.signup', 'federation.linked', 'federation.signed_in', 'login.success'], 4);
    expect(events.map((event) => [event.type, event.details]).sort()).toEqual([
      ['account.signup', { provider: 'acme-sso' }],
      ['federation.linked', { provider: 'acme-sso', proof: 'signup' }],
      ['federation.signed_in', { provider: 'acme-sso' }],
      ['login.success', { method: 'fed' }],
    ]);
  });

  it('an existing link signs in straight away, and takes the upstream\'s new name', async () => {
    const person = await upstream.addPerson({ email: 'linus@example.test', name: 'Linus' });
    const first = await newRp();
    const round = await roundTripToUpstream(first, upstream.agent(), 'Acme SSO', { email: person.email });
    await allowAndExchange(first, await pressButton(first.browser, await first.browser.open(round.callback), 'Create account'), round.request);

    await upstream.server.services.accounts.edit(person.id, { name: 'Linus T.' });
    const rp = await newRp();
    const again = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: person.email }, { scope: 'openid profile' });
    // No confirmation, no password: the consent page (or the app) comes next.
    const tokens = await allowAndExchange(rp, await rp.browser.open(again.callback), again.request);
    expect(tokens.claims()).toMatchObject({ amr: ['fed'], idp: 'Acme SSO' });
    expect(await rp.userinfo(tokens.access_token, tokens.claims()!.sub)).toMatchObject({ name: 'Linus T.' });
  });

  it('keeps the idp claim in ID tokens from a refresh', async () => {
    await upstream.addPerson({ email: 'refresh@example.test' });
    const rp = await newRp();
    const round = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: 'refresh@example.test' }, { scope: 'openid offline_access', prompt: 'consent' });
    const tokens = await allowAndExchange(rp, await pressButton(rp.browser, await rp.browser.open(round.callback), 'Create account'), round.request);
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await rp.refresh(tokens.refresh_token!);
    expect(refreshed.claims()).toMatchObject({ amr: ['fed'], idp: 'Acme SSO' });
  });

  it('a password sign-in has no idp claim', async () => {
    await downstream.services.accounts.create({ email: 'plain@example.test', password: PASSWORD });
    const rp = await newRp();
    const request = await rp.authorizationRequest();
    const consent = await rp.browser.submit(await rp.browser.open(request.url), { email: 'plain@example.test', password: PASSWORD });
    const claims = (await allowAndExchange(rp, consent, request)).claims()!;
    expect(claims.amr).toEqual(['pwd']);
    expect(claims).not.toHaveProperty('idp');
  });
});

describe('linking to an existing account', () => {
  it('asks for that account\'s password, refuses a wrong one, links after the right one', async () => {
    const existing = await downstream.services.accounts.create({ email: 'ada@example.test', name: 'Ada', password: PASSWORD });
    await upstream.addPerson({ email: 'ada@example.test', name: 'Ada Lovelace' });
    const rp = await newRp();
    const { request, callback } = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email: 'ada@example.test' });
    const link = await rp.browser.open(callback);
    expect(heading(link)).toBe('Link Acme SSO to your account');

    const wrong = await pressButton(rp.browser, link, 'Link and continue', { password: 'not the password' });
    expect(expectPage(wrong).status).toBe(400);
    expect(expectPage(wrong).html).toContain('Invalid email or password');
    expect(await downstream.services.federatedIdentities.listForAccount(existing.id)).toEqual([]);

    const tokens = await allowAndExchange(rp, await pressButton(rp.browser, wrong, 'Link and continue', { password: PASSWORD }), request);
    expect(tokens.claims()).toMatchObject({ sub: existing.id, amr: ['fed', 'pwd'], idp: 'Acme SSO' });
    expect(await downstream.services.federatedIdentities.listForAccount(existing.id)).toHaveLength(1);
    expect((await downstream.services.accounts.findById(existing.id))!.name).toBe('Ada Lovelace');
  });

  it('an account with a second factor is asked for it after the upstream, and the tokens say so', async () => {
    const email = 'mfa@example.test';
    await downstream.services.accounts.create({ email, password: PASSWORD });
    // The authenticator app, set up on the account page.
    const { secret, recoveryCodes } = await enrol(new UserAgent(new URL(downstream.issuer).origin), email, PASSWORD);
    await upstream.addPerson({ email });
    const rp = await newRp();
    const first = await roundTripToUpstream(rp, upstream.agent(), 'Acme SSO', { email });
    const prompt = await pressButton(rp.browser, await rp.browser.open(first.callback), 'Link and continue', { password: PASSWORD });
    expect(heading(prompt)).toBe('Enter your code');
    const tokens = await allowAndExchange(rp, await rp.browser.submit(prompt, { code: codeAt(secret, 1) }), first.request);
    expect(tokens.claims()).toMatchObject({ amr: ['fed', 'pwd', 'otp', 'mfa'], idp: 'Acme SSO', acr: 'urn:latchkey:acr:mfa' });

    // Linked now: the next federated sign-in asks for the code too, and needs no password.
    const again = await newRp();
    const second = await roundTripToUpstream(again, upstream.agent(), 'Acme SSO', { email });
    const prompt2 = await again.browser.open(second.callback);
    expect(heading(prompt2)).toBe('Enter your code');
    // The app's next code is not due yet: a recovery code, which RFC 8176 calls mfa but not otp.
    const tokens2 = await allowAndExchange(again, await again.browser.submit(prompt2, { code: recoveryCodes[0]! }), second.request);
    expect(tokens2.claims()).toMatchObject({ amr: ['fed', 'mfa'], idp: 'Acme SSO', acr: 'urn:latchkey:acr:mfa' });
  });
});

describe('GitHub (plain OAuth 2.0)', () => {
  it('signs in with the verified primary email from the API, end to end', async () => {
    github.signInAs({ id: 9001, login: 'hubber', name: 'Hub Ber', emails: [{ email: 'other@example.test', primary: false, verified: true }, { email: 'hubber@example.test', primary: true, verified: true }] });
    const rp = await newRp();
    const { request, callback } = await roundTripToUpstream(rp, github.agent(), 'GitHub', { email: 'ignored' }, { scope: 'openid email profile' });
    expect(callback.pathname).toBe('/federation/github/callback');
    const confirm = await rp.browser.open(callback);
    expect(heading(confirm)).toBe('Create an account with GitHub');
    const tokens = await allowAndExchange(rp, await pressButton(rp.browser, confirm, 'Create account'), request);
    expect(tokens.claims()).toMatchObject({ amr: ['fed'], idp: 'GitHub' });
    expect(await rp.userinfo(tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email: 'hubber@example.test', email_verified: true, name: 'Hub Ber' });
    expect(github.requests).toEqual(expect.arrayContaining(['POST /login/oauth/access_token', 'GET /api/v3/user', 'GET /api/v3/user/emails']));
  });

  it('does not offer a link or an account for an unverified primary email', async () => {
    await downstream.services.accounts.create({ email: 'victim-gh@example.test', password: PASSWORD });
    github.signInAs({ id: 9002, login: 'mallory', name: 'Mallory', emails: [{ email: 'victim-gh@example.test', primary: true, verified: false }] });
    const rp = await newRp();
    const { callback } = await roundTripToUpstream(rp, github.agent(), 'GitHub', { email: 'ignored' });
    const refused = expectPage(await rp.browser.open(callback));
    expect(refused.status).toBe(403);
    expect(heading(refused)).toBe('GitHub did not confirm your email address');
    expect(pageCode(refused)).toBe('email_unverified');
  });
});

describe('federated account creation counts against the sign-up limits', () => {
  // Its own server: the sign-up budget is per network (10 new accounts from
  // one address, throttle-policy.ts's signup_ip), and every RP here comes
  // from 127.0.0.1.
  let server: TestServer;
  let hub: FakeGithub;
  beforeAll(async () => {
    server = await startTestServer({ env: { LATCHKEY_SIGNUP: 'open' } });
    hub = await startFakeGithub({ clientId: 'gh-limit', clientSecret: 'gh-limit-secret' });
    await registerProvider(server, { name: 'GitHub', slug: 'github', type: 'github', issuer: hub.origin, clientId: 'gh-limit', clientSecret: 'gh-limit-secret' });
  });
  afterAll(async () => {
    await hub?.stop();
    await server?.stop();
  });

  it('creates ten accounts from one network, then answers 429 with Retry-After and creates nothing', async () => {
    const { client, clientSecret: secret } = await server.services.clients.create({ name: 'Signups', redirectUris: [CALLBACK] });
    const createOne = async (i: number) => {
      hub.signInAs({ id: 7000 + i, login: `person${i}`, name: `Person ${i}`, emails: [{ email: `person${i}@example.test`, primary: true, verified: true }] });
      const rp = await createRelyingParty({ issuer: server.issuer, clientId: client.clientId, clientSecret: secret!, redirectUri: CALLBACK });
      const { callback } = await roundTripToUpstream(rp, hub.agent(), 'GitHub', { email: 'ignored' });
      const confirm = await rp.browser.open(callback);
      expect(heading(confirm)).toBe('Create an account with GitHub');
      return pressButton(rp.browser, confirm, 'Create account');
    };
    for (let i = 0; i < 10; i++) expect(heading(await createOne(i))).toBe('Signups wants to access your account');

    const refused = expectPage(await createOne(10));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(heading(refused)).toBe('Too many new accounts');
    expect(pageCode(refused)).toBe('too_many_requests');
    expect(await server.services.accounts.findByEmail('person10@example.test')).toBeUndefined();
    // Audit events are written in batches, off the response path.
    await expect.poll(async () => (await server.services.audit.list({ types: ['federation.failed'], limit: 10 })).map((event) => event.details?.reason), { timeout: 5000 }).toEqual(['throttled']);
  });
});
