// Failed client authentication at the endpoints that authenticate clients
// (token, introspection, revocation), over HTTP against a real server behind a
// trusted proxy (X-Forwarded-For picks the address): per client_id, with the
// client_id read from HTTP Basic or from the form, and per IP. Once the limit
// is reached even the right secret gets 429 temporarily_unavailable with
// Retry-After, so the block comes before any secret is compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrottleKeys } from '../../src/throttle/throttle-keys.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const API = 'https://orders.example.test/api';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

let server: TestServer;
type Client = { readonly id: string; readonly secret: string };
const clients: Record<'basic' | 'post' | 'postFresh' | 'other' | 'steady' | 'watched', Client> = {} as never;

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_TRUST_PROXY: 'true', LATCHKEY_METRICS_TOKEN: METRICS_TOKEN } });
  const { resources, clients: registry } = server.services;
  await resources.create({ identifier: API, scopes: ['orders:read'] });
  const register = async (name: string, tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post') => {
    const created = await registry.create({ name, grantTypes: ['client_credentials'], resources: [API], tokenEndpointAuthMethod });
    return { id: created.client.clientId, secret: created.clientSecret! };
  };
  clients.basic = await register('Basic service', 'client_secret_basic');
  clients.post = await register('Post service', 'client_secret_post');
  clients.postFresh = await register('Another post service', 'client_secret_post');
  clients.other = await register('Other service', 'client_secret_basic');
  clients.steady = await register('Steady service', 'client_secret_basic');
  clients.watched = await register('Watched service', 'client_secret_basic');
});

afterAll(async () => {
  await server?.stop();
});

type Endpoint = '/token' | '/token/introspection' | '/token/revocation';
type Auth = 'basic' | 'post';

interface Call {
  readonly client: Client;
  readonly secret?: string;
  readonly auth?: Auth;
  readonly ip: string;
  readonly endpoint?: Endpoint;
  readonly accept?: string;
}

async function call({ client, secret = client.secret, auth = 'basic', ip, endpoint = '/token', accept = 'application/json' }: Call) {
  const form = new URLSearchParams(endpoint === '/token' ? { grant_type: 'client_credentials', resource: API, scope: 'orders:read' } : { token: 'not-a-token' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, accept };
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  else form.set('client_id', client.id), form.set('client_secret', secret);
  const response = await fetch(`${server.issuer}${endpoint}`, { method: 'POST', headers, body: form });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

async function throttledCount(scope: string): Promise<number> {
  const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await response.text()).split('\n').find((text) => text.startsWith(`latchkey_throttled_requests_total{scope="${scope}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1);
const unknown = (n: number): Client => ({ id: `lk_unknown_${n}`, secret: 'whatever' });

interface Case {
  readonly scope: 'client' | 'client_ip';
  /** Failed authentications that reach the limit (each answered 401 invalid_client). */
  readonly failures: () => Call[];
  /** Then refused with 429, the right secret notwithstanding. */
  readonly blocked: () => Call;
  /** And still served: the limit is on what the case names. */
  readonly open: () => Call;
}

const CASES: [string, Case][] = [
  [
    'per client_id from HTTP Basic: 20 wrong secrets from 20 addresses',
    {
      scope: 'client',
      failures: () => range(20).map((n) => ({ client: clients.basic, secret: `wrong-${n}`, ip: `10.6.0.${n}` })),
      blocked: () => ({ client: clients.basic, ip: '10.6.1.1' }),
      open: () => ({ client: clients.other, ip: '10.6.0.1' }),
    },
  ],
  [
    'per client_id from the form (client_secret_post), some asking for HTML',
    {
      scope: 'client',
      failures: () => range(20).map((n) => ({ client: clients.post, auth: 'post', secret: `wrong-${n}`, ip: `10.7.0.${n}`, ...(n % 2 ? { accept: 'text/html' } : {}) })),
      blocked: () => ({ client: clients.post, auth: 'post', ip: '10.7.1.1' }),
      open: () => ({ client: clients.other, ip: '10.7.0.1' }),
    },
  ],
  [
    'per IP: 20 unknown clients from one address, across the three endpoints',
    {
      scope: 'client_ip',
      failures: () =>
        range(20).map((n) => ({ client: unknown(n), ip: '10.8.0.1', endpoint: (['/token', '/token/introspection', '/token/revocation'] as const)[n % 3] })),
      blocked: () => ({ client: clients.other, ip: '10.8.0.1' }),
      open: () => ({ client: clients.other, ip: '10.8.0.2' }),
    },
  ],
];

describe('client authentication throttling', () => {
  it.each(CASES)('%s', async (_name, { scope, failures, blocked, open }) => {
    for (const failure of failures()) {
      const response = await call(failure);
      expect(response.status).toBe(401);
      if (failure.accept !== 'text/html') expect(response.body.error).toBe('invalid_client');
    }

    const before = await throttledCount(scope);
    for (const endpoint of ['/token', '/token/introspection', '/token/revocation'] as const) {
      const refused = await call({ ...blocked(), endpoint });
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/^too many failed client authentications; retry after \d+ seconds$/) });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15).toBe(true);
      expect(refused.headers.get('cache-control')).toBe('no-store');
    }
    expect(await throttledCount(scope)).toBe(before + 3);

    const served = await call(open());
    expect(served.status).toBe(200);
    expect(served.body.access_token).toEqual(expect.any(String));
  });

  it("does not let strangers lock a working client out: the client's next success clears its count", async () => {
    for (let round = 0; round < 3; round++) {
      for (const n of range(19)) expect((await call({ client: clients.steady, secret: 'wrong', ip: `10.9.${round}.${n}` })).status).toBe(401);
      expect((await call({ client: clients.steady, ip: '10.9.9.9' })).status).toBe(200);
    }
  });

  it('sees a block recorded by another instance within seconds, even while the client keeps succeeding here', async () => {
    const client = clients.watched;
    const ip = '10.11.0.1';
    // Successes every 100 ms: this instance trusts the client's keys as clean between database checks.
    const deadline = Date.now() + 6000;
    expect((await call({ client, ip })).status).toBe(200);
    // Another instance has blocked the client meanwhile: written straight to the shared table, as its failures would be.
    const key = createThrottleKeys(server.config.masterSecret!).clientAuth(client.id, ip).client!;
    const now = new Date();
    await server.database.db.prisma.throttle.upsert({
      where: { key: `${key.scope}:${key.id}` },
      create: { key: `${key.scope}:${key.id}`, failures: 20, windowStart: now, blockedUntil: new Date(now.getTime() + 60_000) },
      update: { failures: 20, windowStart: now, blockedUntil: new Date(now.getTime() + 60_000) },
    });
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await call({ client, ip })).status;
    }
    expect(status).toBe(429);
  });

  it('leaves the form intact for oidc-provider after reading client_id from it, whatever its size', async () => {
    const served = await call({ client: clients.postFresh, auth: 'post', ip: '10.10.0.1' });
    expect(served.status).toBe(200);
    expect(served.body.access_token).toEqual(expect.any(String));
    // A form near oidc-provider's 56 KiB limit: read in several chunks, all given back.
    const padded = new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'orders:read', client_id: clients.postFresh.id, client_secret: clients.postFresh.secret, pad: 'x'.repeat(50_000) });
    const response = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '10.10.0.2' }, body: padded });
    expect(response.status).toBe(200);
  });
});
