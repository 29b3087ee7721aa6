// SIGTERM: stop accepting new connections, finish the requests already in
// flight (within a bound), close the database, exit 0 within 10 s.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createServices } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { spawnLatchkey, type LatchkeyProcess } from '../helpers/latchkey-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { testEnv } from '../helpers/test-env.ts';

const API = 'https://shutdown.example.test/api';

let database: TestDatabase;
let dataDir: string;
let env: Record<string, string>;
let port: number;
let issuer: string;
let auth: string;
let running: LatchkeyProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-shutdown-'));
  port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  env = testEnv({ port, databaseUrl: database.url, dataDir }, { LOG_LEVEL: 'info' });
  const services = createServices({ config: loadConfig(env), db: database.db });
  await services.resources.create({ identifier: API, scopes: ['read'] });
  const created = await services.clients.create({ name: 'Shutdown', grantTypes: ['client_credentials'], resources: [API] });
  auth = `Basic ${Buffer.from(`${created.client.clientId}:${created.clientSecret}`).toString('base64')}`;
}, 120_000);

afterAll(async () => {
  running?.child.kill('SIGKILL');
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Starts a token request whose body arrives in two parts; `finish()` sends the rest. */
function slowTokenRequest() {
  const body = 'grant_type=client_credentials';
  const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/token', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
  });
  request.write(body.slice(0, 10));
  return { response, finish: () => request.end(body.slice(10)) };
}

describe('SIGTERM', () => {
  it('finishes the request in flight, refuses new connections, and exits 0 within 10 s', { timeout: 120_000 }, async () => {
    running = await spawnLatchkey(env, issuer);
    const inFlight = slowTokenRequest();
    // Let the server receive the headers and the first half of the body.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalled = Date.now();
    running.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Stopped accepting: a new connection is refused while the old request is still open.
    await expect(fetch(`${issuer}/healthz`)).rejects.toThrow();

    inFlight.finish();
    const answer = await inFlight.response;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).access_token).toMatch(/^ey/);

    const { code } = await running.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(running.output()).toContain('shutting down');
    expect(running.output()).not.toMatch(/\n\s+at /); // no stack trace
    running = undefined;
  });
});
