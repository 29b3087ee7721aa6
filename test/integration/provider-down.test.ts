// The promise Latchkey exists for: a resource server keeps verifying tokens
// when Latchkey is down. Latchkey runs here as a separate process (`node
// --import tsx src/main.ts`, as `npm start` runs it); the test obtains a token,
// stops the process with SIGTERM, and shows the verifier still accepting that
// token and refusing forgeries while new token requests fail; then restarts
// Latchkey on the same database and secret and shows the old token and the
// published keys unchanged.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose';
import { loadConfig } from '../../src/config/config.ts';
import { createServices } from '../../src/services.ts';
import { createVerifier, type VerifyError } from '../../packages/verify/src/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { testEnv } from '../helpers/test-env.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const API = 'https://orders.example.test/api';
const EXIT_DEADLINE_MS = 10_000;

interface LatchkeyProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let database: TestDatabase;
let dataDir: string;
let env: Record<string, string>;
let issuer: string;
let client: { id: string; secret: string };
let resourceServer: { id: string; secret: string };
let running: LatchkeyProcess | undefined;
const everything: string[] = []; // all output of every Latchkey run, checked for secrets at the end

function startLatchkey(): Promise<LatchkeyProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      everything.push(output);
      resolve({ code, signal });
    });
  });
  const latchkey = { child, output: () => output, exited };
  return new Promise((resolve, reject) => {
    let settled = false;
    void exited.then(({ code }) => {
      if (!settled) reject(new Error(`Latchkey exited with ${code} before it was ready:\n${output}`));
      settled = true;
    });
    const poll = async () => {
      if (settled) return;
      try {
        const response = await fetch(`${issuer}/readyz`);
        if (response.ok) {
          settled = true;
          return resolve(latchkey);
        }
      } catch {
        // not listening yet
      }
      setTimeout(poll, 100);
    };
    void poll();
  });
}

/** SIGTERM, then the exit status, or a failure if the process is still running after 10 s. */
async function stopLatchkey(latchkey: LatchkeyProcess) {
  latchkey.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), EXIT_DEADLINE_MS);
  });
  const result = await Promise.race([latchkey.exited, deadline]);
  clearTimeout(timer);
  if (result === 'still running') latchkey.child.kill('SIGKILL');
  return result;
}

async function requestToken(): Promise<Response> {
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
}

async function newToken(): Promise<string> {
  const response = await requestToken();
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function publishedKeys(): Promise<JSONWebKeySet> {
  return (await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as VerifyError,
  );
  if (!error) throw new Error('expected a rejection, the token was accepted');
  return error.code;
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-down-'));
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  env = testEnv({ port, databaseUrl: database.url, dataDir }, { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' });
  const services = createServices({ config: loadConfig(env), db: database.db });
  await services.resources.create({ identifier: API, scopes: ['orders:read'] });
  const created = await services.clients.create({ name: 'Order sync', grantTypes: ['client_credentials'], resources: [API] });
  client = { id: created.client.clientId, secret: created.clientSecret! };
  const api = await services.clients.create({ name: 'Orders API', grantTypes: ['client_credentials'], resources: [API] });
  resourceServer = { id: api.client.clientId, secret: api.clientSecret! };
});

afterAll(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) await stopLatchkey(running);
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('keeps verifying issued tokens while Latchkey is stopped, and after it restarts', async () => {
  running = await startLatchkey();
  const token = await newToken();
  const keysBefore = await publishedKeys();

  // Every fetch the verifier makes is recorded, to show it did try the issuer while it was down.
  const attempts: { url: string; failed?: string }[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const attempt: { url: string; failed?: string } = { url: String(input) };
    attempts.push(attempt);
    try {
      return await fetch(input, init);
    } catch (error) {
      attempt.failed = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
      throw error;
    }
  };
  // No cooldown and no cache lifetime: every unknown kid and every use asks the
  // issuer again, the worst case for an outage.
  const verifier = createVerifier({
    issuer,
    audience: API,
    fetch: recordingFetch,
    refetchCooldownMs: 0,
    cacheMaxAgeMs: 0,
    introspect: { clientId: resourceServer.id, clientSecret: resourceServer.secret },
  });
  expect((await verifier.verify(token, { requiredScopes: ['orders:read'] })).claims.client_id).toBe(client.id);

  // Stop Latchkey: exit code 0 within 10 s.
  expect(await stopLatchkey(running)).toEqual({ code: 0, signal: null });

  // New token requests fail: nothing is listening any more.
  const refused = await requestToken().then(
    () => 'answered',
    (error: { cause?: { code?: string } }) => error.cause?.code,
  );
  expect(refused).toBe('ECONNREFUSED');

  // The issued token still verifies, from the cached keys.
  const failedBefore = attempts.filter((a) => a.failed).length;
  await expect(verifier.verify(token, { requiredScopes: ['orders:read'] })).resolves.toMatchObject({ claims: { sub: client.id, aud: API } });

  // Forgeries are still refused, each for its own reason.
  const { kid } = decodeProtectedHeader(token);
  const { privateKey } = await generateKeyPair('ES256');
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, aud: API, sub: client.id, client_id: client.id, scope: 'orders:read', iat: now, exp: now + 600, jti: 'forged' };
  const forgedUnderRealKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: kid! }).sign(privateKey);
  const forgedUnknownKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker' }).sign(privateKey);
  const [header, , signature] = token.split('.');
  const widened = `${header}.${base64url.encode(JSON.stringify({ ...decodeJwt(token), scope: 'orders:read orders:admin' }))}.${signature}`;
  const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify(claims))}.`;
  expect(await refusal(verifier.verify(forgedUnderRealKid))).toBe('signature_invalid');
  expect(await refusal(verifier.verify(forgedUnknownKid))).toBe('unknown_key');
  expect(await refusal(verifier.verify(widened))).toBe('signature_invalid');
  expect(await refusal(verifier.verify(unsigned))).toBe('algorithm_not_allowed');

  // A route that demands the online check fails closed instead (503), while offline routes keep working.
  const online = await verifier.verify(token, { introspect: true }).then(
    () => undefined,
    (error: VerifyError) => ({ code: error.code, status: error.status }),
  );
  expect(online).toEqual({ code: 'introspection_unavailable', status: 503 });

  // The verifier did try to reach the issuer (unknown kid, stale cache) and failed, and still serves.
  await expect.poll(() => attempts.filter((a) => a.failed).length).toBeGreaterThan(failedBefore);
  expect(attempts.filter((a) => a.failed).every((a) => a.failed === 'ECONNREFUSED')).toBe(true);
  await expect(verifier.verify(token)).resolves.toMatchObject({ claims: { sub: client.id } });

  // Restart on the same database and secret: same keys, and the old token still verifies,
  // for the verifier that rode out the outage and for one that starts fresh.
  running = await startLatchkey();
  expect(await publishedKeys()).toEqual(keysBefore);
  await expect(verifier.verify(token)).resolves.toMatchObject({ claims: { sub: client.id } });
  const fresh = createVerifier({ issuer, audience: API });
  await expect(fresh.verify(token, { requiredScopes: ['orders:read'] })).resolves.toMatchObject({ claims: { sub: client.id } });
  const after = await newToken();
  expect(decodeProtectedHeader(after).kid).toBe(kid);
  await expect(verifier.verify(after)).resolves.toBeDefined();

  expect(await stopLatchkey(running)).toEqual({ code: 0, signal: null });

  // Nothing secret reached Latchkey's output in either run.
  const logged = everything.join('\n');
  for (const secret of [env.LATCHKEY_SECRET!, client.secret, token, after]) expect(logged).not.toContain(secret);
});
