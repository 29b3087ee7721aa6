// Thousands of malformed requests against every endpoint: none may answer with
// a 5xx, the server must stay up, and its memory must stay bounded. Inputs are
// generated from a fixed seed, so a failure reproduces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ENDPOINTS = [
  '/auth',
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/me',
  '/session/end',
  '/session/end/confirm',
  '/jwks',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/interaction/abc',
  '/interaction/abc/login',
  '/interaction/abc/consent',
  '/interaction/abc/abort',
  '/healthz',
  '/readyz',
  '/static/latchkey.css',
  '/request',
  '/reg',
  '/device/auth',
  '/nope',
];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/xml',
  '',
];

/** Small deterministic PRNG (mulberry32). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PARAMS = [
  'grant_type', 'client_id', 'client_secret', 'code', 'redirect_uri', 'scope', 'resource', 'token', 'refresh_token', 'code_verifier',
  'response_type', 'state', 'nonce', 'prompt', 'max_age', 'email', 'password', 'id_token_hint', 'post_logout_redirect_uri', 'request',
  'claims', 'token_type_hint', 'ui_locales', 'login_hint', 'acr_values', 'request_uri', 'code_challenge', 'client_assertion',
  'client_assertion_type', 'xsrf', 'logout', 'access_token',
];
/** Stands for the registered client's id, so values also reach what lies behind the client lookup. */
const CLIENT = '{client}';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const VALUES = [
  '',
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'code',
  'openid',
  '%',
  '%ZZ',
  '\u0000',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '{"a":',
  'null',
  '-1',
  '1e309',
  'https://evil.example/cb',
  'x'.repeat(70_000),
  '\ud800',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'Basic Og==',
  // What PostgreSQL's text type refuses, inside otherwise plausible values.
  'a\u0000b',
  `${CLIENT}\u0000`,
  'https://orders.example.test/api\u0000',
  'https://app.example.test/cb\u0000',
  `${b64('{"alg":"none"}')}.${b64('{"aud":"\\u0000","sub":"x\\u0000","iss":"\\ud800","sid":"\\u0000"}')}.`,
  CLIENT,
  CLIENT,
];

/** Percent-encodes, or for a lone surrogate sends its (invalid) UTF-8 bytes raw. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

let clientId = '';

function body(rand: () => number, kind: number): string | Uint8Array {
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  switch (kind) {
    case 0: {
      // A form with duplicated and odd parameters.
      const parts: string[] = [];
      const n = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < n; i += 1) parts.push(`${encode(pick(PARAMS))}=${encode(pick(VALUES).replace(CLIENT, clientId))}`);
      if (rand() < 0.5) parts.push(parts[0]!);
      return parts.join('&');
    }
    case 1:
      return pick(['{', '{"grant_type":', '[]', 'null', '{"a":1}', '"x"', '{"__proto__":{"x":1}}']);
    case 2:
      // Invalid UTF-8 bytes.
      return new Uint8Array([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x3d, 0x25]);
    case 3:
      // Oversized: 2 MiB of form data.
      return `grant_type=client_credentials&x=${'a'.repeat(2 * 1024 * 1024)}`;
    case 4:
      return `${pick(PARAMS)}=${'%'.repeat(1 + Math.floor(rand() * 50))}`;
    default:
      return '';
  }
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const { clients, resources } = server.services;
  await resources.create({ identifier: 'https://orders.example.test/api', scopes: ['orders:read'] });
  const created = await clients.create({ name: 'Web', redirectUris: ['https://app.example.test/cb'], postLogoutRedirectUris: ['https://app.example.test/bye'], resources: ['https://orders.example.test/api'] });
  clientId = created.client.clientId;
});

afterAll(async () => {
  await server?.stop();
});

describe('malformed requests', () => {
  it('never answer 5xx, and the server stays up with bounded memory', { timeout: 240_000 }, async () => {
    const rand = random(20261129);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    const rssBefore = process.memoryUsage().rss;

    // 4000 requests, 8 at a time.
    const total = 4000;
    const worker = async () => {
      while (sent < total) {
        sent += 1;
        const path = pick(ENDPOINTS);
        // Mostly the methods endpoints serve, so the inputs reach the handlers.
        const method = rand() < 0.5 ? 'POST' : rand() < 0.6 ? 'GET' : pick(METHODS);
        const kind = Math.floor(rand() * 6);
        const query = rand() < 0.4 ? `?${String(body(rand, rand() < 0.9 ? 0 : 4))}` : '';
        const headers: Record<string, string> = {};
        const contentType = pick(CONTENT_TYPES);
        if (contentType) headers['content-type'] = contentType;
        if (rand() < 0.3) {
          headers.authorization = pick([
            'Basic !!!',
            'Basic ' + Buffer.from(':').toString('base64'),
            'Bearer ',
            'Bearer x.y.z',
            'DPoP abc',
            'Basic ' + 'A'.repeat(9000),
            'Basic ' + Buffer.from(`${clientId}%00:x`).toString('base64'),
            'Basic ' + Buffer.from(`${clientId}\u0000:x`).toString('base64'),
            'Basic ' + Buffer.from([0x6c, 0x6b, 0xff, 0xc0, 0x3a, 0x78]).toString('base64'),
          ]);
        }
        if (rand() < 0.1) headers.cookie = pick([`_session=${'x'.repeat(5000)}; _interaction=%%%`, '_session=%00; _session.sig=%00; _interaction=\u00ff\u00c0', `_interaction_resume=${'%ED%A0%80'.repeat(10)}`]);
        // Browsers ask for HTML, which changes how errors are answered.
        if (rand() < 0.3) headers.accept = 'text/html';
        const withBody = method !== 'GET' && method !== 'HEAD';
        const label = `${method} ${path}${query.slice(0, 60)} [kind ${kind}, ${contentType}]`;
        try {
          const response = await fetch(`${server.issuer}${path}${query.slice(0, 8000)}`, {
            method,
            headers,
            body: withBody ? body(rand, kind) : undefined,
            redirect: 'manual',
          });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500) failures.push(`${response.status} ${label}`);
        } catch (error) {
          // A server may reset an oversized upload; that is not a failure, a dead server is.
          if (kind !== 3) failures.push(`network error ${(error as Error).message} ${label}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    expect(failures.slice(0, 20)).toEqual([]);
    // The inputs really reach the handlers: refusals of several kinds, and some successes.
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(4);
    expect(statuses.get(200)).toBeGreaterThan(0);
    const health = await fetch(`${server.issuer}/healthz`);
    expect(health.status).toBe(200);
    // Generous: the point is "bounded", not a number (tests run beside other work).
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(grownMb).toBeLessThan(300);
  });
});
