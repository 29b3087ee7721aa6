// A copy of the database opens nothing: after a sign-in with offline_access,
// a refresh and a retry inside the reuse grace, neither the refresh tokens,
// the code, the access token, nor the session or interaction cookie values
// appear anywhere in it. On SQLite that is the bytes of the database file
// and its write-ahead log; on PostgreSQL a pg_dump of the test database.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRelyingParty, signInAndAllow } from '../helpers/rp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://app.example.test/cb';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { LATCHKEY_REFRESH_REUSE_GRACE: '60' } });
});

afterAll(async () => {
  await server?.stop();
});

/** Everything a copy of the database holds, as text. */
async function databaseDump(): Promise<string> {
  const { config } = server.database;
  if (config.dialect === 'sqlite') {
    const files = [config.sqlitePath!, `${config.sqlitePath}-wal`].filter((file) => existsSync(file));
    return files.map((file) => readFileSync(file).toString('latin1')).join('\n');
  }
  const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', '--no-owner', config.url], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

it('holds no refresh token, code, access token or cookie value after a sign-in, a refresh and a retry', async () => {
  await server.services.accounts.create({ email: 'ada@example.test', password: PASSWORD });
  const { client, clientSecret } = await server.services.clients.create({ name: 'Web app', redirectUris: [CALLBACK] });
  const rp = await createRelyingParty({ issuer: server.issuer, clientId: client.clientId, clientSecret: clientSecret!, redirectUri: CALLBACK });

  const { request, callback } = await signInAndAllow(rp, { email: 'ada@example.test', password: PASSWORD }, { scope: 'openid offline_access', prompt: 'consent' });
  // Cookie values as the browser holds them: `<value>` (the session or interaction id) and its signature.
  const cookies = rp.browser.jar.header(new URL(`${server.issuer}/auth`)).split('; ').map((pair) => pair.slice(pair.indexOf('=') + 1));
  const tokens = await rp.exchange(callback, request);
  const refreshed = await rp.refresh(tokens.refresh_token!);
  // A retry inside the grace: its answer is kept for the next one, sealed.
  const retried = await rp.refresh(tokens.refresh_token!).catch((error: unknown) => error);

  const secrets: Record<string, string> = {
    code: callback.searchParams.get('code')!,
    'first refresh token': tokens.refresh_token!,
    'rotated refresh token': refreshed.refresh_token!,
    'access token': tokens.access_token,
    'refreshed access token': refreshed.access_token,
    ...Object.fromEntries(cookies.map((value, i) => [`cookie value ${i}`, value])),
  };
  expect(Object.keys(secrets).length).toBeGreaterThan(5);
  for (const value of Object.values(secrets)) expect(value.length).toBeGreaterThanOrEqual(16);

  const dump = await databaseDump();
  // The dump is of this database: the client is in it.
  expect(dump).toContain(client.clientId);
  const found = Object.entries(secrets).filter(([, value]) => dump.includes(value)).map(([what]) => what);
  expect(found, 'bearer values found in the database').toEqual([]);
  expect((retried as { refresh_token?: string }).refresh_token).toBe(refreshed.refresh_token);
});
