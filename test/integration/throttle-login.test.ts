// Brute-force protection on the login page, over HTTP against a real server:
// per (account, IP), per IP and per account. Behind a trusted proxy (so the
// test can speak from many addresses through X-Forwarded-For), each case
// guesses until the limit, then even the right password gets the login page
// with 429, Retry-After and a readable wait, the email kept, and the throttled
// counter of /metrics moves for that key. What is not blocked still signs in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, expectPage, heading, type RelyingParty, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

let server: TestServer;
let client: { id: string; secret: string };

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_TRUST_PROXY: 'true', LATCHKEY_METRICS_TOKEN: METRICS_TOKEN } });
  const { accounts, clients } = server.services;
  for (const name of ['ada', 'grace', 'bob']) await accounts.create({ email: `${name}@example.test`, password: PASSWORD });
  const created = await clients.create({ name: 'Throttle test app', redirectUris: [CALLBACK] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

const relyingParty = () => createRelyingParty({ issuer: server.issuer, clientId: client.id, clientSecret: client.secret, redirectUri: CALLBACK });

async function loginPage(rp: RelyingParty, params: Record<string, string> = {}): Promise<Step> {
  const page = await rp.browser.open((await rp.authorizationRequest(params)).url);
  expect(heading(page)).toBe('Sign in');
  return page;
}

/** Submits the login form as a client at `ip` (the address our trusted proxy would append). */
const signIn = (rp: RelyingParty, page: Step, email: string, password: string, ip: string) =>
  rp.browser.submit(page, { email, password }, 'Sign in', { headers: { 'x-forwarded-for': ip } });

async function throttledCount(scope: string): Promise<number> {
  const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await response.text()).split('\n').find((text) => text.startsWith(`latchkey_throttled_requests_total{scope="${scope}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function loginFailures(): Promise<number> {
  const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  return Number(/^latchkey_login_failures_total (\d+)/m.exec(await response.text())?.[1]);
}

interface Attempt {
  readonly email: string;
  readonly ip: string;
}

interface Case {
  readonly scope: string;
  /** Wrong-password attempts that reach the limit (each answered 400). */
  readonly guesses: readonly Attempt[];
  /** Then refused with 429, even with the right password. */
  readonly blocked: Attempt;
  /** And still signs in: the limit is on what the case names, nothing wider. */
  readonly open: Attempt & { readonly knownBrowser?: boolean };
}

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

const CASES: [string, Case][] = [
  [
    'per (account, IP): 5 guesses at ada from one address',
    {
      scope: 'login_account_ip',
      guesses: range(5).map(() => ({ email: 'ada@example.test', ip: '10.1.0.1' })),
      blocked: { email: 'ADA@example.test ', ip: '10.1.0.1' },
      open: { email: 'ada@example.test', ip: '10.1.0.2' },
    },
  ],
  [
    'per IP: 30 guesses at 30 unknown emails from one address',
    {
      scope: 'login_ip',
      guesses: range(30).map((n) => ({ email: `nobody${n}@example.test`, ip: '10.2.0.1' })),
      blocked: { email: 'grace@example.test', ip: '10.2.0.1' },
      open: { email: 'grace@example.test', ip: '10.2.0.2' },
    },
  ],
  [
    'per account: 10 guesses at bob from 10 addresses',
    {
      scope: 'login_account',
      guesses: range(10).map((n) => ({ email: 'bob@example.test', ip: `10.3.0.${n}` })),
      blocked: { email: 'bob@example.test', ip: '10.3.1.1' },
      // The owner's own browser, which signed in as bob before the guessing.
      open: { email: 'bob@example.test', ip: '10.3.1.2', knownBrowser: true },
    },
  ],
];

describe('login throttling', () => {
  it.each(CASES)('%s', async (_name, { scope, guesses, blocked, open }) => {
    // The owner's browser signs in once (a device cookie), before anything happens.
    const owner = await relyingParty();
    const first = await signIn(owner, await loginPage(owner), open.email, PASSWORD, open.ip);
    expect(heading(first)).toMatch(/wants to access your account$/);

    // A fresh login page every five guesses: one page takes only ten wrong passwords (see below).
    const attacker = await relyingParty();
    let page = await loginPage(attacker);
    for (const [index, guess] of guesses.entries()) {
      if (index > 0 && index % 5 === 0) page = await loginPage(attacker);
      page = await signIn(attacker, page, guess.email, 'not the password', guess.ip);
      expect(expectPage(page).status).toBe(400);
      expect(expectPage(page).html).toContain('Invalid email or password');
    }

    const before = await throttledCount(scope);
    const refused = expectPage(await signIn(attacker, await loginPage(attacker), blocked.email, PASSWORD, blocked.ip));
    expect(refused.status).toBe(429);
    expect(heading(refused)).toBe('Sign in');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15).toBe(true);
    expect(refused.html).toContain('Too many attempts. Try again in 1 minute.');
    expect(refused.html).toContain(`value="${blocked.email.trim()}"`);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await throttledCount(scope)).toBe(before + 1);

    // Another browser for the open attempt unless it is the owner's own.
    const browser = open.knownBrowser ? owner : await relyingParty();
    const fresh = await loginPage(browser, { prompt: 'login' });
    const allowed = await signIn(browser, fresh, open.email, PASSWORD, open.ip);
    expect(heading(allowed)).toMatch(/wants to access your account$/);
  });

  it('takes ten wrong passwords on one login page, from any addresses for any accounts, then refuses it unchecked: start again', async () => {
    const rp = await relyingParty();
    let page = await loginPage(rp);
    // Ten addresses, ten accounts: no (account, IP), IP or account key is near its limit.
    for (const n of range(10)) {
      page = await signIn(rp, page, `sprayed${n}@example.test`, 'not the password', `10.14.0.${n}`);
      expect(expectPage(page).status).toBe(400);
    }
    const before = await throttledCount('login_interaction');
    const failuresBefore = await loginFailures();
    // Even the right password for a real account, from a new address.
    const refused = expectPage(await signIn(rp, page, 'grace@example.test', PASSWORD, '10.14.1.1'));
    expect(refused.status).toBe(429);
    expect(refused.html).toContain('Too many attempts on this sign-in page');
    expect(refused.html).toContain('start again');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await throttledCount('login_interaction')).toBe(before + 1);
    // Refused before any password check: nothing more counted as a failure.
    expect(await loginFailures()).toBe(failuresBefore);

    // A new sign-in request is a new page, with its own attempts.
    const fresh = await signIn(rp, await loginPage(rp), 'grace@example.test', PASSWORD, '10.14.1.1');
    expect(heading(fresh)).toMatch(/wants to access your account$/);
  });

  it('counts every refused password in latchkey_login_failures_total', async () => {
    const read = async () => {
      const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      return Number(/^latchkey_login_failures_total (\d+)/m.exec(await response.text())?.[1]);
    };
    const before = await read();
    const rp = await relyingParty();
    const page = await signIn(rp, await loginPage(rp), 'ada@example.test', 'still not it', '10.5.0.1');
    expect(expectPage(page).status).toBe(400);
    expect(await read()).toBe(before + 1);
  });
});
