// Failed client authentication at the endpoints that authenticate clients
// (token, introspection, revocation, pushed authorization requests), over HTTP
// against a real server behind a trusted proxy (X-Forwarded-For picks the
// address): per (client_id, IP), with the client_id read from HTTP Basic or
// from the form, and per IP. Once a limit is reached a wrong secret gets 429
// temporarily_unavailable with Retry-After and is not counted, while the right
// secret is always served: a client_id is public, so strangers must not be
// able to lock its client out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrottleKeys } from '../../src/throttle/throttle-keys.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const API = 'https://orders.example.test/api';
const CALLBACK = 'https://app.example.test/cb';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

let server: TestServer;
type Client = { readonly id: string; readonly secret: string };
const clients: Record<'basic' | 'post' | 'postFresh' | 'other' | 'steady' | 'watched' | 'flooded' | 'pushing', Client> = {} as never;

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
  clients.flooded = await register('Flooded service', 'client_secret_basic');
  const web = await registry.create({ name: 'Pushing web app', redirectUris: [CALLBACK] });
  clients.pushing = { id: web.client.clientId, secret: web.clientSecret! };
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
  readonly scope: 'client_at_ip' | 'client_ip';
  /** Failed authentications that reach the limit (each answered 401 invalid_client). */
  readonly failures: () => Call[];
  /** Then a wrong secret is refused with 429, before it is counted. */
  readonly blocked: () => Call;
  /** And the right secret is still served from the blocked address: a correct client always gets through. */
  readonly right: () => Call;
  /** And what the case does not name is not blocked: a wrong secret there is counted and answered 401. */
  readonly open: () => Call;
}

const CASES: [string, Case][] = [
  [
    'per (client_id, IP) from HTTP Basic: 20 wrong secrets from one address',
    {
      scope: 'client_at_ip',
      failures: () => range(20).map((n) => ({ client: clients.basic, secret: `wrong-${n}`, ip: '10.6.0.1' })),
      blocked: () => ({ client: clients.basic, secret: 'wrong-again', ip: '10.6.0.1' }),
      right: () => ({ client: clients.basic, ip: '10.6.0.1' }),
      open: () => ({ client: clients.basic, secret: 'wrong-elsewhere', ip: '10.6.0.2' }),
    },
  ],
  [
    'per (client_id, IP) from the form (client_secret_post), some asking for HTML',
    {
      scope: 'client_at_ip',
      failures: () => range(20).map((n) => ({ client: clients.post, auth: 'post', secret: `wrong-${n}`, ip: '10.7.0.1', ...(n % 2 ? { accept: 'text/html' } : {}) })),
      blocked: () => ({ client: clients.post, auth: 'post', secret: 'wrong-again', ip: '10.7.0.1' }),
      right: () => ({ client: clients.post, auth: 'post', ip: '10.7.0.1' }),
      open: () => ({ client: clients.post, auth: 'post', secret: 'wrong-elsewhere', ip: '10.7.0.2' }),
    },
  ],
  [
    'per IP: 20 unknown clients from one address, across the three endpoints',
    {
      scope: 'client_ip',
      failures: () =>
        range(20).map((n) => ({ client: unknown(n), ip: '10.8.0.1', endpoint: (['/token', '/token/introspection', '/token/revocation'] as const)[n % 3] })),
      blocked: () => ({ client: clients.other, secret: 'wrong', ip: '10.8.0.1' }),
      right: () => ({ client: clients.other, ip: '10.8.0.1' }),
      open: () => ({ client: unknown(99), ip: '10.8.0.2' }),
    },
  ],
];

const expectServed = (response: Awaited<ReturnType<typeof call>>, endpoint: Endpoint) => {
  expect(response.status).toBe(200);
  if (endpoint === '/token') expect(response.body.access_token).toEqual(expect.any(String));
};

describe('client authentication throttling', () => {
  it.each(CASES)('%s', async (_name, { scope, failures, blocked, right, open }) => {
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
      expect(refused.headers.get('www-authenticate')).toBeNull();
    }
    expect(await throttledCount(scope)).toBe(before + 3);
    for (const endpoint of ['/token', '/token/introspection', '/token/revocation'] as const) expectServed(await call({ ...right(), endpoint }), endpoint);

    const counted = await call(open());
    expect(counted.status).toBe(401);
    expect(counted.body.error).toBe('invalid_client');
  });

  it('serves a correct client throughout while strangers flood its public client_id from 10 addresses and its own', async () => {
    const client = clients.flooded;
    const own = '10.12.0.1';
    // 10 strangers' addresses and the client's own (a shared NAT, say), 21 wrong secrets each, all at once: past every limit.
    const strangers = [...range(10).map((n) => `10.12.1.${n}`), own];
    const flood = Promise.all(strangers.flatMap((ip) => range(21).map((n) => call({ client, secret: `guess-${n}`, ip }))));
    const during = await Promise.all(range(20).map((n) => call({ client, ip: n % 2 ? own : `10.12.2.${n}` })));
    const wrong = await flood;
    // Then the strangers are held off (every key they used is past its limit)…
    const after = await Promise.all(strangers.map((ip) => call({ client, secret: 'one more guess', ip })));
    // …and the client is not, from its own address or anywhere else, at every endpoint.
    const served = await Promise.all(
      (['/token', '/token/introspection', '/token/revocation'] as const).flatMap((endpoint) => [own, '10.12.3.1'].map(async (ip) => [endpoint, await call({ client, ip, endpoint })] as const)),
    );

    const tally = (responses: { status: number }[]) => Object.fromEntries([...new Set(responses.map((r) => r.status))].map((status) => [status, responses.filter((r) => r.status === status).length]));
    console.info(`client-auth flood: ${wrong.length} wrong secrets ${JSON.stringify(tally(wrong))}; the client's ${during.length} requests meanwhile ${JSON.stringify(tally(during))}`);
    expect(wrong.every((response) => response.status === 401 || response.status === 429)).toBe(true);
    expect(after.map((response) => response.status)).toEqual(strangers.map(() => 429));
    expect(during.map((response) => response.status)).toEqual(range(20).map(() => 200));
    for (const [endpoint, response] of served) expectServed(response, endpoint);
  });

  it("does not let strangers lock a working client out: the client's next success clears its count", async () => {
    for (let round = 0; round < 3; round++) {
      for (const n of range(19)) expect((await call({ client: clients.steady, secret: 'wrong', ip: `10.9.${round}.${n}` })).status).toBe(401);
      expect((await call({ client: clients.steady, ip: '10.9.9.9' })).status).toBe(200);
    }
  });

  it('refuses a wrong secret at once when another instance has blocked its key, while the right one keeps being served', async () => {
    const client = clients.watched;
    const ip = '10.11.0.1';
    expect((await call({ client, ip })).status).toBe(200);
    // Another instance has blocked the client at this address: written straight to the shared table, as its failures would be.
    const key = createThrottleKeys(server.config.masterSecret!).clientAuth(client.id, ip).client!;
    const now = new Date();
    await server.database.db.prisma.throttle.upsert({
      where: { key: `${key.scope}:${key.id}` },
      create: { key: `${key.scope}:${key.id}`, failures: 20, windowStart: now, blockedUntil: new Date(now.getTime() + 60_000) },
      update: { failures: 20, windowStart: now, blockedUntil: new Date(now.getTime() + 60_000) },
    });
    expect((await call({ client, ip, secret: 'wrong' })).status).toBe(429);
    expect((await call({ client, ip })).status).toBe(200);
  });

  it('throttles client authentication at the pushed authorization request endpoint (/request) too', async () => {
    const client = clients.pushing;
    const ip = '10.13.0.1';
    const push = (secret: string, from: string) => {
      const form = new URLSearchParams({ response_type: 'code', client_id: client.id, redirect_uri: CALLBACK, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
      return fetch(`${server.issuer}/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from, authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}` },
        body: form,
      });
    };
    expect((await push(client.secret, ip)).status).toBe(201);
    for (const n of range(20)) expect((await push(`wrong-${n}`, ip)).status).toBe(401);
    const refused = await push('wrong again', ip);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const served = await push(client.secret, ip);
    expect(served.status).toBe(201);
    expect(await served.json()).toMatchObject({ request_uri: expect.stringMatching(/^urn:ietf:params:oauth:request_uri:/) });
  });

  it('serves client_secret_post whatever the form size: only oidc-provider reads the body, the throttle reads what it parsed', async () => {
    const served = await call({ client: clients.postFresh, auth: 'post', ip: '10.10.0.1' });
    expect(served.status).toBe(200);
    expect(served.body.access_token).toEqual(expect.any(String));
    // A form near oidc-provider's 56 KiB limit, arriving in several chunks.
    const padded = new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'orders:read', client_id: clients.postFresh.id, client_secret: clients.postFresh.secret, pad: 'x'.repeat(50_000) });
    const response = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '10.10.0.2' }, body: padded });
    expect(response.status).toBe(200);
  });
});
