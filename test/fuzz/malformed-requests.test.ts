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

const PARAMS = ['grant_type', 'client_id', 'client_secret', 'code', 'redirect_uri', 'scope', 'resource', 'token', 'refresh_token', 'code_verifier', 'response_type', 'state', 'nonce', 'prompt', 'max_age', 'email', 'password', 'id_token_hint', 'post_logout_redirect_uri', 'request', 'claims', 'token_type_hint'];
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
];

/** Percent-encodes, or for a lone surrogate sends its (invalid) UTF-8 bytes raw. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

function body(rand: () => number, kind: number): string | Uint8Array {
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  switch (kind) {
    case 0: {
      // A form with duplicated and odd parameters.
      const parts: string[] = [];
      const n = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < n; i += 1) parts.push(`${encode(pick(PARAMS))}=${encode(pick(VALUES))}`);
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
        if (rand() < 0.3) headers.authorization = pick(['Basic !!!', 'Basic ' + Buffer.from(':').toString('base64'), 'Bearer ', 'Bearer x.y.z', 'DPoP abc', 'Basic ' + 'A'.repeat(9000)]);
        if (rand() < 0.1) headers.cookie = `_session=${'x'.repeat(5000)}; _interaction=%%%`;
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
