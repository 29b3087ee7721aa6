// The layers every request passes (src/app.ts): each response, an error page
// or a provider answer or a 404 alike, carries its own X-Request-Id and the
// security headers, and leaves one access-log line with that id, its status
// and its path only (never the query string, which can carry codes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SECRET_QUERY = 'code=do-not-log-this-code';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: TestServer;
let direct: string;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  // An https issuer reached over plain http, not through a trusted proxy: the
  // sign-in pages are refused by a thrown error, so one case is an error page.
  server = await startTestServer({
    env: { ISSUER: 'https://id.example.test', LATCHKEY_TRUST_PROXY: 'false', LOG_LEVEL: 'info' },
    logTo: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  direct = `http://127.0.0.1:${server.config.port}`;
});

afterAll(async () => {
  await server?.stop();
});

describe('every response', () => {
  it.each([
    { label: 'a health probe', path: '/healthz', accept: 'application/json', status: 200, html: false },
    { label: 'a provider answer', path: '/.well-known/openid-configuration', accept: 'application/json', status: 200, html: false },
    { label: 'an error page rendered from a thrown error', path: '/interaction/abc', accept: 'text/html', status: 400, html: true },
    { label: 'an error as JSON', path: '/interaction/abc', accept: 'application/json', status: 400, html: false },
    { label: 'a path nothing serves', path: '/nothing-here', accept: 'application/json', status: 404, html: false },
  ])('$label: its own request id, the security headers, one access line with the path only', async ({ path, accept, status, html }) => {
    const response = await fetch(`${direct}${path}?${SECRET_QUERY}`, { headers: { accept }, redirect: 'manual' });
    await response.arrayBuffer();
    expect(response.status).toBe(status);
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    if (html) {
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
    // The access line is written once the response is finished: wait for it.
    await expect.poll(() => lines.filter((line) => line.msg === 'request' && line.requestId === id)).toHaveLength(1);
    const access = lines.find((line) => line.msg === 'request' && line.requestId === id)!;
    expect(access).toMatchObject({ method: 'GET', path, status });
    expect(typeof access.ms).toBe('number');
  });

  it('gets an id of its own, and no log line carries a query string', () => {
    const ids = lines.filter((line) => line.msg === 'request').map((line) => line.requestId);
    expect(ids.length).toBeGreaterThanOrEqual(5);
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.stringify(lines)).not.toContain('do-not-log-this-code');
  });
});
