// The second factor at sign-in, over real HTTP with a real relying party
// (openid-client): after the right password an account with an
// authenticator app gets the code page; TOTP cases as a table (codes
// computed with otpauth from the secret the account page showed), replay,
// throttling, recovery codes (single use, also in parallel), and the
// step-up a client asks for with acr_values: only the code, and the ID
// token's amr/acr say so.
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_MFA, ACR_PASSWORD } from '../../src/interactions/acr.ts';
import { runCli } from '../helpers/cli.ts';
import { codeAt, enrol, recoveryCodesOn, secretOn } from '../helpers/mfa.ts';
import { createRelyingParty, expectPage, expectRedirect, heading, UserAgent, type RelyingParty, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';

let server: TestServer;
let app: { id: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const created = await server.services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK], grantTypes: ['authorization_code'] });
  app = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

let accounts = 0;
async function enrolledAccount(confirmStep = 0) {
  const email = `signin${++accounts}@example.test`;
  const account = await server.services.accounts.create({ email, name: 'Grace Hopper', password: PASSWORD });
  const enrolled = await enrol(new UserAgent(new URL(server.issuer).origin), email, PASSWORD, confirmStep);
  return { id: account.id, email, ...enrolled };
}

const relyingParty = () => createRelyingParty({ issuer: server.issuer, clientId: app.id, clientSecret: app.secret, redirectUri: CALLBACK });

/** A new authorization request, the password typed: resolves to the page that follows (the code page for an enrolled account). */
async function passwordStep(rp: RelyingParty, email: string, params: Record<string, string> = {}) {
  const request = await rp.authorizationRequest(params);
  const login = await rp.browser.open(request.url);
  expect(heading(login)).toBe('Sign in');
  return { request, page: expectPage(await rp.browser.submit(login, { email, password: PASSWORD })) };
}

const isConsent = (step: Step) => step.kind === 'page' && heading(step)?.endsWith('wants to access your account');

describe('the code page after the password', () => {
  it('is a form with an input named code (one-time-code, numeric), and the sign-in is not finished before it', async () => {
    const ada = await enrolledAccount();
    const sessions = () => server.database.db.prisma.oidcArtifact.count({ where: { model: 'Session', accountId: ada.id } });
    // One session: the account page's, where the app was enrolled.
    const before = await sessions();
    const rp = await relyingParty();
    const { page } = await passwordStep(rp, ada.email);
    expect(page.status).toBe(200);
    expect(heading(page)).toBe('Enter your code');
    expect(page.html).toMatch(/<input id="code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric"/);
    // Reloading the interaction shows the code page again, not the password form, and no session holds the account yet.
    expect(heading(await rp.browser.open(page.url))).toBe('Enter your code');
    expect(await sessions()).toBe(before);
  });

  it.each<[string, number | 'wrong', 'ok' | 400]>([
    ['the current step', 0, 'ok'],
    ['one step behind (drift)', -1, 'ok'],
    ['one step ahead (drift)', 1, 'ok'],
    ['two steps behind', -2, 400],
    ['two steps ahead', 2, 400],
    ['a wrong code', 'wrong', 400],
  ])('%s: %s', async (_case, steps, expected) => {
    const ada = await enrolledAccount();
    // The confirmation used the current step; start each case from a factor no code was used with.
    await server.database.db.prisma.totpFactor.update({ where: { accountId: ada.id }, data: { lastUsedStep: null } });
    const rp = await relyingParty();
    const { page } = await passwordStep(rp, ada.email);
    const code = steps === 'wrong' ? String((Number(codeAt(ada.secret)) + 1) % 1_000_000).padStart(6, '0') : codeAt(ada.secret, steps);
    const after = await rp.browser.submit(page, { code });
    if (expected === 'ok') expect(isConsent(after)).toBe(true);
    else {
      expect(expectPage(after).status).toBe(expected);
      expect(heading(after)).toBe('Enter your code');
    }
  });

  it('accepts a code once: the same code in a new sign-in is refused, and so is an older step', async () => {
    const ada = await enrolledAccount(-1);
    const first = await relyingParty();
    const code = codeAt(ada.secret);
    expect(isConsent(await first.browser.submit((await passwordStep(first, ada.email)).page, { code }))).toBe(true);
    const second = await relyingParty();
    expect(expectPage(await second.browser.submit((await passwordStep(second, ada.email)).page, { code })).status).toBe(400);
    const third = await relyingParty();
    expect(expectPage(await third.browser.submit((await passwordStep(third, ada.email)).page, { code: codeAt(ada.secret, -1) })).status).toBe(400);
  });

  it('throttles wrong codes per account across sign-ins: 429 with Retry-After, even for the right code', async () => {
    const ada = await enrolledAccount(-1);
    const rp = await relyingParty();
    let { page } = await passwordStep(rp, ada.email);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const after = expectPage(await rp.browser.submit(page, { code: '000000' === codeAt(ada.secret) ? '111111' : '000000' }));
      statuses.push(after.status);
      page = after;
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect(page.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another sign-in (another browser) of the same account is held off too, right code or not.
    const other = await relyingParty();
    const held = expectPage(await other.browser.submit((await passwordStep(other, ada.email)).page, { code: codeAt(ada.secret) }));
    expect(held.status).toBe(429);
  });
});

describe('recovery codes at sign-in', () => {
  it('signs in once per code, counts down on the account page, and refuses the code again', async () => {
    const ada = await enrolledAccount();
    const rp = await relyingParty();
    const { request, page } = await passwordStep(rp, ada.email);
    const consent = await rp.browser.submit(page, { code: ada.recoveryCodes[0]!.toLowerCase() });
    expect(isConsent(consent)).toBe(true);
    const callback = expectRedirect(await rp.browser.submit(consent, {}, 'Allow'));
    const tokens = await rp.exchange(callback, request);
    const claims = tokens.claims()!;
    expect(claims.amr).toEqual(['pwd', 'mfa']);
    expect(claims.acr).toBe(ACR_MFA);
    expect(await server.services.mfa.status(ada.id)).toEqual({ totp: 'confirmed', recoveryCodesLeft: 9 });
    expect(expectPage(await rp.browser.open('/account')).html).toContain('Recovery codes left: 9');

    const again = await relyingParty();
    expect(expectPage(await again.browser.submit((await passwordStep(again, ada.email)).page, { code: ada.recoveryCodes[0]! })).status).toBe(400);
  });

  it('lets exactly one of ten parallel uses of one code sign in', async () => {
    const ada = await enrolledAccount();
    const pages = await Promise.all(Array.from({ length: 10 }, async () => {
      const rp = await relyingParty();
      return { rp, page: (await passwordStep(rp, ada.email)).page };
    }));
    const outcomes = await Promise.all(pages.map(({ rp, page }) => rp.browser.submit(page, { code: ada.recoveryCodes[1]! })));
    expect(outcomes.filter(isConsent)).toHaveLength(1);
    // The losers are wrong codes now, and count as such: past five the account's code key blocks (429).
    expect(outcomes.filter((step) => !isConsent(step)).map((step) => expectPage(step).status).every((status) => status === 400 || status === 429)).toBe(true);
    expect((await server.services.mfa.status(ada.id)).recoveryCodesLeft).toBe(9);
  });
});

describe('acr and amr', () => {
  it('advertises both levels in discovery', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { acr_values_supported?: string[] };
    expect(discovery.acr_values_supported).toEqual([ACR_PASSWORD, ACR_MFA]);
  });

  it('says pwd and the password level for an account without a second factor', async () => {
    const email = `plain${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    const { request, page } = await passwordStep(rp, email);
    const tokens = await rp.exchange(expectRedirect(await rp.browser.submit(page, {}, 'Allow')), request);
    expect(tokens.claims()).toMatchObject({ amr: ['pwd'], acr: ACR_PASSWORD });
  });

  it('steps a password-only session up with the code alone when the client asks acr_values for MFA', async () => {
    const email = `stepup${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    // Signed in with the password only (no app yet), then an app is added on the account page in the same browser.
    const first = await passwordStep(rp, email);
    await rp.exchange(expectRedirect(await rp.browser.submit(first.page, {}, 'Allow')), first.request);
    const account = expectPage(await rp.browser.open('/account'));
    const { postForm, secretOn } = await import('../helpers/mfa.ts');
    const started = expectPage(await postForm(rp.browser, account, '/account/mfa/totp/start'));
    const secret = secretOn(started);
    await postForm(rp.browser, started, '/account/mfa/totp/confirm', { code: codeAt(secret, -1) });

    const request = await rp.authorizationRequest({ acr_values: ACR_MFA });
    const prompt = expectPage(await rp.browser.open(request.url));
    // No password form: only the code.
    expect(heading(prompt)).toBe('Enter your code');
    expect(prompt.html).not.toContain('name="password"');
    const callback = expectRedirect(await rp.browser.submit(prompt, { code: codeAt(secret) }));
    const tokens = await rp.exchange(callback, request);
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: ACR_MFA });
    // The JWT access token is not asked for here (no resource); its claims come from the same session.
    expect(jose.decodeProtectedHeader(tokens.id_token!).alg).toBeDefined();
  });

  it('sets up an authenticator app inside the sign-in for an account without a second factor at the MFA level', async () => {
    const email = `nofactor${++accounts}@example.test`;
    const account = await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    const { request, page } = await passwordStep(rp, email, { acr_values: ACR_MFA });
    const { consent, recoveryCodes } = await enrolInSignIn(rp, page);
    const tokens = await rp.exchange(expectRedirect(await rp.browser.submit(consent, {}, 'Allow')), request);
    expect(tokens.claims()).toMatchObject({ sub: account.id, amr: ['pwd', 'otp', 'mfa'], acr: ACR_MFA });
    expect(recoveryCodes).toHaveLength(10);
    // Audit events are written in batches, off the response path.
    const types = async () => (await server.services.audit.list({ types: ['mfa.failed', 'mfa.totp_enrolled', 'mfa.recovery_codes_generated'], limit: 100 })).filter((event) => event.subject === account.id).map((event) => event.type);
    for (let waited = 0; (await types()).length < 3 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await types()).sort()).toEqual(['mfa.failed', 'mfa.recovery_codes_generated', 'mfa.totp_enrolled']);
  });

  it('sets up an app for a password-only session asked to step up, without the password again', async () => {
    const email = `stepupenrol${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    const first = await passwordStep(rp, email);
    await rp.exchange(expectRedirect(await rp.browser.submit(first.page, {}, 'Allow')), first.request);
    const request = await rp.authorizationRequest({ acr_values: ACR_MFA });
    const page = expectPage(await rp.browser.open(request.url));
    expect(page.html).not.toContain('name="password"');
    const { consent } = await enrolInSignIn(rp, page);
    // The grant already covers the scopes: no consent page, straight back to the app.
    const tokens = await rp.exchange(consent.kind === 'redirect' ? expectRedirect(consent) : expectRedirect(await rp.browser.submit(consent, {}, 'Allow')), request);
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: ACR_MFA });
  });

  it('cannot be skipped: the enrolment page resumed without its code signs no one in', async () => {
    const email = `skip${++accounts}@example.test`;
    await server.services.accounts.create({ email, password: PASSWORD });
    const rp = await relyingParty();
    const { page } = await passwordStep(rp, email, { acr_values: ACR_MFA });
    expect(heading(page)).toBe('Set up two-step sign-in');
    // A forged "Continue" (the form of the page after the first code) is refused like a wrong code.
    const forged = expectPage(await rp.browser.submit(page, { code: '' }));
    expect(forged.status).toBe(400);
    expect(heading(forged)).toBe('Set up two-step sign-in');
  });
});

/** On the set-up page inside a sign-in: a wrong code first, then the app's code, the recovery codes, and Continue. */
async function enrolInSignIn(rp: RelyingParty, page: Extract<Step, { kind: 'page' }>) {
  expect(page.status).toBe(200);
  expect(heading(page)).toBe('Set up two-step sign-in');
  expect(page.html).toMatch(/<figure class="qr"[^>]*><svg /);
  const secret = secretOn(page);
  const wrong = expectPage(await rp.browser.submit(page, { code: '000000' === codeAt(secret) ? '111111' : '000000' }));
  expect(wrong.status).toBe(400);
  expect(secretOn(wrong)).toBe(secret);
  const codes = expectPage(await rp.browser.submit(wrong, { code: codeAt(secret) }));
  expect(codes.status).toBe(200);
  const recoveryCodes = recoveryCodesOn(codes);
  const consent = await rp.browser.submit(codes, {});
  return { secret, recoveryCodes, consent: consent.kind === 'page' ? expectPage(consent) : consent };
}

describe('LATCHKEY_MFA=required', () => {
  let strict: TestServer;
  let strictApp: { id: string; secret: string };
  beforeAll(async () => {
    strict = await startTestServer({ env: { LATCHKEY_MFA: 'required' } });
    const created = await strict.services.clients.create({ name: 'Photo Album', redirectUris: [CALLBACK], grantTypes: ['authorization_code'] });
    strictApp = { id: created.client.clientId, secret: created.clientSecret! };
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('has an account without a second factor set one up at its next sign-in, then takes its code', async () => {
    const email = 'strict@example.test';
    await strict.services.accounts.create({ email, password: PASSWORD });
    const rp = await createRelyingParty({ issuer: strict.issuer, clientId: strictApp.id, clientSecret: strictApp.secret, redirectUri: CALLBACK });
    const { page } = await passwordStep(rp, email);
    const { consent, secret } = await enrolInSignIn(rp, page);
    expect(isConsent(consent)).toBe(true);

    const again = await createRelyingParty({ issuer: strict.issuer, clientId: strictApp.id, clientSecret: strictApp.secret, redirectUri: CALLBACK });
    const prompt = (await passwordStep(again, email)).page;
    expect(prompt.html).toContain('name="code"');
    expect(heading(prompt)).toBe('Enter your code');
    expect(isConsent(await again.browser.submit(prompt, { code: codeAt(secret, 1) }))).toBe(true);
  });

  it('still lets the account page in with the password alone (where factors are managed)', async () => {
    const email = 'strict-account@example.test';
    await strict.services.accounts.create({ email, password: PASSWORD });
    const { secret } = await enrol(new UserAgent(new URL(strict.issuer).origin), email, PASSWORD);
    expect(secret).toMatch(/^[A-Z2-7]+$/);
  });
});

describe('a client that requires a second factor (--require-mfa)', () => {
  it('asks for the code without acr_values, sends an account without a factor to enrol, and is switched on and off by client update', async () => {
    const env = { DATABASE_URL: server.database.url };
    const created = await runCli(['client', 'create', '--name', 'Vault', '--redirect-uri', CALLBACK, '--require-mfa', '--json'], { env });
    expect(created.code).toBe(0);
    const vault = JSON.parse(created.stdout) as { client: { clientId: string; requireMfa: boolean }; clientSecret: string };
    expect(vault.client.requireMfa).toBe(true);
    const vaultRp = () => createRelyingParty({ issuer: server.issuer, clientId: vault.client.clientId, clientSecret: vault.clientSecret, redirectUri: CALLBACK });

    // Without a factor: the page that sets one up, not a code.
    const bare = `vault${++accounts}@example.test`;
    await server.services.accounts.create({ email: bare, password: PASSWORD });
    expect(heading((await passwordStep(await vaultRp(), bare)).page)).toBe('Set up two-step sign-in');

    // With one: the code page, and the ID token says MFA.
    const ada = await enrolledAccount();
    const rp = await vaultRp();
    const { request, page } = await passwordStep(rp, ada.email);
    expect(page.html).toContain('name="code"');
    const consent = await rp.browser.submit(page, { code: codeAt(ada.secret, 1) });
    const tokens = await rp.exchange(expectRedirect(await rp.browser.submit(consent, {}, 'Allow')), request);
    expect(tokens.claims()).toMatchObject({ acr: ACR_MFA });

    const off = await runCli(['client', 'update', vault.client.clientId, '--require-mfa', 'false', '--json'], { env });
    expect(off.code).toBe(0);
    expect((JSON.parse(off.stdout) as { client: { requireMfa: boolean } }).client.requireMfa).toBe(false);
    expect((await runCli(['client', 'update', vault.client.clientId, '--require-mfa', 'maybe'], { env })).code).toBe(2);
    expect((await runCli(['client', 'update', vault.client.clientId], { env })).code).toBe(2);
  });

  it('refuses --require-mfa for a client that signs no one in', async () => {
    const refused = await runCli(['client', 'create', '--name', 'Batch', '--grant-types', 'client_credentials', '--require-mfa', '--json'], { env: { DATABASE_URL: server.database.url } });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain('second factor');
  });
});
