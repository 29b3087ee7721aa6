// Authorization requests (/auth) per client address: each one the provider
// answers with a login page stores an Interaction row, so a flood of GET
// /auth from one address must stop creating rows. Behind a trusted proxy
// (X-Forwarded-For picks the address), with a budget of 10 a minute: a burst
// of 30 from one address creates at most the budget's rows and the rest get
// a readable 429 page, while another address still reaches the login page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelyingParty, type RelyingParty } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CALLBACK = 'https://app.example.test/cb';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
const PER_MINUTE = 10;
const BURST = 30;

let server: TestServer;
let rp: RelyingParty;

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_TRUST_PROXY: 'true', LATCHKEY_METRICS_TOKEN: METRICS_TOKEN, LATCHKEY_AUTHORIZATIONS_PER_MINUTE: String(PER_MINUTE) } });
  const created = await server.services.clients.create({ name: 'Flooded app', redirectUris: [CALLBACK] });
  rp = await createRelyingParty({ issuer: server.issuer, clientId: created.client.clientId, clientSecret: created.clientSecret!, redirectUri: CALLBACK });
});

afterAll(async () => {
  await server?.stop();
});

const interactions = () => server.database.db.prisma.oidcArtifact.count({ where: { model: 'Interaction' } });

async function authorize(ip: string) {
  const response = await fetch((await rp.authorizationRequest()).url, { headers: { 'x-forwarded-for': ip, accept: 'text/html' }, redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), retryAfter: response.headers.get('retry-after'), html: await response.text() };
}

async function throttledCount(scope: string): Promise<number> {
  const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await response.text()).split('\n').find((text) => text.startsWith(`latchkey_throttled_requests_total{scope="${scope}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('authorization request throttling', () => {
  it(`lets one address start ${PER_MINUTE} sign-ins a minute, and answers the rest of a burst of ${BURST} with a readable 429 that stores nothing`, async () => {
    const before = await interactions();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: BURST }, () => authorize('10.30.0.1')));
    const seconds = (Date.now() - started) / 1000;

    const admitted = answers.filter((answer) => answer.status === 303 && answer.location?.startsWith('/interaction/'));
    const refused = answers.filter((answer) => answer.status === 429);
    // The budget, plus what a minute's rate refills while the burst runs.
    const allowance = PER_MINUTE + Math.ceil((seconds * PER_MINUTE) / 60);
    expect(admitted.length).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(admitted.length).toBeLessThanOrEqual(allowance);
    expect(admitted.length + refused.length).toBe(BURST);
    expect(await interactions()).toBe(before + admitted.length);
    for (const answer of refused) {
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      expect(answer.html).toContain('Too many sign-in requests');
      expect(answer.html).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(await throttledCount('authorization_ip')).toBe(refused.length);

    // Another address is not held back.
    const other = await authorize('10.30.0.2');
    expect(other.status).toBe(303);
    expect(other.location).toMatch(/^\/interaction\//);
  });
});
