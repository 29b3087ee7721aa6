// Prometheus metrics: only with the configured bearer token, with bounded labels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const TOKEN = 'metrics-token-0123456789';
let server: TestServer;
let plain: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_METRICS_TOKEN: TOKEN } });
  plain = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
  await plain?.stop();
});

describe('/metrics', () => {
  it('is not served at all when no token is configured', async () => {
    expect((await fetch(`${plain.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it.each([
    ['no credentials', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token-at-all' }],
    ['basic auth', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
  ])('refuses %s with 401', async (_name, headers) => {
    const response = await fetch(`${server.issuer}/metrics`, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('counts requests by route and status, and tokens by grant type', async () => {
    const { resources, clients } = server.services;
    await resources.create({ identifier: 'https://metrics.example.test/api', scopes: ['read'] });
    const created = await clients.create({ name: 'm', grantTypes: ['client_credentials'], resources: ['https://metrics.example.test/api'] });
    const auth = `Basic ${Buffer.from(`${created.client.clientId}:${created.clientSecret}`).toString('base64')}`;
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
      expect(response.status).toBe(200);
    }
    await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
    await fetch(`${server.issuer}/some/random/path/${'x'.repeat(50)}`);

    const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/latchkey_tokens_issued_total\{grant_type="client_credentials"\} 3/);
    expect(text).toMatch(/latchkey_http_requests_total\{route="token",method="POST",status="200"\} 3/);
    expect(text).toMatch(/latchkey_http_requests_total\{route="token",method="POST",status="400"\} 1/);
    expect(text).toMatch(/latchkey_http_request_duration_seconds_bucket\{le="0.1",route="token"\}/);
    expect(text).toMatch(/latchkey_process_resident_memory_bytes/);
    // Raw paths never become labels.
    expect(text).not.toContain('random');
    expect(text).toMatch(/route="other"/);
  });
});
