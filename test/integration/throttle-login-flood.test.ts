// A flood of sign-ins cannot starve token issuance: password checks (argon2,
// on libuv's thread pool, which token signing also uses) are bounded to 2 at
// once with 4 waiting. Sixty sign-ins are sent at once; as soon as the first
// is told the server is busy (so the queue is full), thirty client-credentials
// token requests go out, and every one of them must succeed. Nothing here
// measures time: only what was answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, expectPage, heading, type Step } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const API = 'https://orders.example.test/api';
const CALLBACK = 'https://app.example.test/cb';
const LOGINS = 60;
const TOKENS = 30;

let server: TestServer;
let service: { id: string; secret: string };
let webApp: { id: string; secret: string };

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_PASSWORD_HASH_CONCURRENCY: '2', LATCHKEY_PASSWORD_HASH_QUEUE: '4', LATCHKEY_TRUST_PROXY: 'true' } });
  const { resources, clients } = server.services;
  await resources.create({ identifier: API, scopes: ['orders:read'] });
  const machine = await clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [API] });
  service = { id: machine.client.clientId, secret: machine.clientSecret! };
  const web = await clients.create({ name: 'Web app', redirectUris: [CALLBACK] });
  webApp = { id: web.client.clientId, secret: web.clientSecret! };
});

afterAll(async () => {
  await server?.stop();
});

async function clientCredentials() {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: API }),
  });
  const body = (await response.json()) as { access_token?: string };
  return { status: response.status, issued: typeof body.access_token === 'string' };
}

describe('password checks under a sign-in flood', () => {
  it('answers the sign-ins beyond the queue 503 at once, and issues every token asked for meanwhile', async () => {
    const rp = await createRelyingParty({ issuer: server.issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: CALLBACK });
    // A login page each: one page takes only ten wrong passwords.
    const loginPages = await Promise.all(
      Array.from({ length: LOGINS }, async () => {
        const page = await rp.browser.open((await rp.authorizationRequest()).url);
        expect(heading(page)).toBe('Sign in');
        return page;
      }),
    );

    let queueFull!: () => void;
    const firstBusy = new Promise<void>((resolve) => (queueFull = resolve));
    // Unknown emails from different addresses: nothing is throttled, every attempt wants argon2.
    const logins = Array.from({ length: LOGINS }, (_, n) =>
      rp.browser
        .submit(loginPages[n]!, { email: `flood${n}@example.test`, password: 'not the password' }, 'Sign in', { headers: { 'x-forwarded-for': `10.20.${n >> 8}.${n & 255}` } })
        .then((step: Step) => {
          if (expectPage(step).status === 503) queueFull();
          return expectPage(step);
        }),
    );

    // If no sign-in is ever refused busy, the assertions below fail rather than the test hanging.
    await Promise.race([firstBusy, Promise.all(logins)]);
    const tokens = await Promise.all(Array.from({ length: TOKENS }, clientCredentials));
    const pages = await Promise.all(logins);

    expect(tokens.filter((token) => token.status === 200 && token.issued)).toHaveLength(TOKENS);
    const statuses = pages.map((login) => login.status);
    expect(statuses.every((status) => status === 400 || status === 503)).toBe(true);
    const busy = pages.filter((login) => login.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const login of busy) {
      expect(login.headers.get('retry-after')).toBe('2');
      expect(login.html).toContain('Latchkey is busy right now. Try again in a few seconds.');
      expect(heading(login)).toBe('Sign in');
    }
    // The ones that got a turn were checked, and refused like any wrong password.
    expect(pages.filter((login) => login.status === 400).every((login) => login.html.includes('Invalid email or password'))).toBe(true);
  });
});
