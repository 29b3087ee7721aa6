// Secrets never reach the logs. Latchkey runs as its own process at the most
// verbose level while a relying party and a service go through every flow
// (good and bad credentials, code, refresh, userinfo, introspection,
// revocation, logout) and the CLI provisions; then every line Latchkey and the
// CLI wrote is searched for every secret, password, token, code, cookie and
// private key the run used.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createKeyRepository } from '../../src/keys/key-repository.ts';
import { createKeyService } from '../../src/keys/key-service.ts';
import { createSealer } from '../../src/keys/sealing.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { spawnLatchkey, type LatchkeyProcess } from '../helpers/latchkey-process.ts';
import { createRelyingParty, signInAndAllow } from '../helpers/rp.ts';
import { freePort } from '../helpers/free-port.ts';
import { testEnv } from '../helpers/test-env.ts';

const API = 'https://secrets.example.test/api';
const REDIRECT = 'http://127.0.0.1:9/cb';
const PASSWORD = 'a very secret passphrase 1';
const WRONG_PASSWORD = 'a wrong guess of a passphrase';

let database: TestDatabase;
let dataDir: string;
let env: Record<string, string>;
let issuer: string;
let latchkey: LatchkeyProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-secrets-'));
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  env = testEnv({ port, databaseUrl: database.url, dataDir }, { LOG_LEVEL: 'trace' });
}, 60_000);

afterAll(async () => {
  latchkey?.child.kill('SIGKILL');
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function basic(id: string, secret: string) {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function form(pathname: string, body: Record<string, string>, authorization?: string) {
  const response = await fetch(`${issuer}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(body),
  });
  return (await response.json().catch(() => ({}))) as Record<string, string>;
}

describe('logs', () => {
  it('never contain a secret, password, token, code, cookie or private key', { timeout: 180_000 }, async () => {
    const secrets = new Map<string, string>(); // value → what it is
    const keep = (what: string, value: string | undefined) => {
      if (value && value.length >= 8) secrets.set(value, what);
    };
    keep('master secret', env.LATCHKEY_SECRET);
    const cliLogs: string[] = [];
    const cli = async (args: string[], input?: string) => {
      const result = await runCli([...args, '--json'], { env: { DATABASE_URL: database.url, LATCHKEY_SECRET: env.LATCHKEY_SECRET!, LOG_LEVEL: 'trace' }, input });
      cliLogs.push(result.stderr);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout);
    };

    await cli(['resource', 'create', '--identifier', API, '--scope', 'read']);
    const service = await cli(['client', 'create', '--name', 'Service', '--grant-types', 'client_credentials', '--resource', API]);
    const app = await cli(['client', 'create', '--name', 'App', '--redirect-uri', REDIRECT, '--resource', API]);
    keep('service secret', service.clientSecret);
    keep('app secret', app.clientSecret);
    await cli(['user', 'create', '--email', 'logs@example.test', '--name', 'Logs', '--password-stdin'], `${PASSWORD}\n`);
    keep('password', PASSWORD);
    keep('wrong password', WRONG_PASSWORD);
    const rotated = await cli(['client', 'rotate-secret', service.client.clientId]);
    keep('rotated secret', rotated.clientSecret);

    latchkey = await spawnLatchkey(env, issuer);

    // A service: good and bad secrets, introspection, revocation.
    const cc = await form('/token', { grant_type: 'client_credentials' }, basic(service.client.clientId, rotated.clientSecret));
    keep('client-credentials token', cc.access_token);
    await form('/token', { grant_type: 'client_credentials' }, basic(service.client.clientId, service.clientSecret));
    await form('/token', { grant_type: 'client_credentials', client_id: service.client.clientId, client_secret: 'guessed-secret-value' });
    keep('guessed secret', 'guessed-secret-value');
    await form('/token/introspection', { token: cc.access_token! }, basic(service.client.clientId, rotated.clientSecret));
    await form('/token/revocation', { token: cc.access_token! }, basic(service.client.clientId, rotated.clientSecret));

    // A person: wrong password, then login, consent, code, tokens, refresh, userinfo, logout.
    const rp = await createRelyingParty({ issuer, clientId: app.client.clientId, clientSecret: app.clientSecret, redirectUri: REDIRECT });
    const wrong = await rp.browser.open((await rp.authorizationRequest()).url);
    await rp.browser.submit(wrong, { email: 'logs@example.test', password: WRONG_PASSWORD });
    const { request, callback } = await signInAndAllow(rp, { email: 'logs@example.test', password: PASSWORD }, { scope: 'openid profile email offline_access', prompt: 'login consent' });
    keep('authorization code', callback.searchParams.get('code') ?? undefined);
    keep('PKCE verifier', request.codeVerifier);
    for (const cookie of rp.browser.jar.header(new URL(issuer)).split('; ')) keep('cookie', cookie.split('=')[1]);
    const tokens = await rp.exchange(callback, request);
    keep('access token', tokens.access_token);
    keep('refresh token', tokens.refresh_token);
    keep('ID token', tokens.id_token);
    await rp.userinfo(tokens.access_token, tokens.claims()!.sub);
    const refreshed = await rp.refresh(tokens.refresh_token!);
    keep('rotated refresh token', refreshed.refresh_token);
    keep('refreshed access token', refreshed.access_token);
    await rp.refresh(tokens.refresh_token!).catch(() => {}); // reuse: revokes the grant
    await rp.browser.open(rp.endSessionUrl({ id_token_hint: refreshed.id_token ?? tokens.id_token! }));

    latchkey.child.kill('SIGTERM');
    await latchkey.exited;

    // The private signing keys, as the server holds them.
    const db = await openDatabase(loadConfig(env).database);
    const keys = createKeyService({ keys: createKeyRepository(db.prisma, db.dialect), sealer: createSealer(env.LATCHKEY_SECRET!) });
    for (const key of (await keys.signingJwks()).keys) keep(`private key ${key.kid}`, key.d);
    await db.close();

    const logs = latchkey.output() + cliLogs.join('\n');
    // The run logged a good deal (trace level), so the search means something.
    expect(logs.split('\n').length).toBeGreaterThan(30);
    expect(secrets.size).toBeGreaterThan(15);
    const leaked: string[] = [];
    for (const [value, what] of secrets) {
      // JWTs: the whole token, or its signature alone.
      const needles = value.split('.').length === 3 ? [value, value.split('.')[2]!] : [value];
      if (needles.some((needle) => needle.length >= 8 && logs.includes(needle))) leaked.push(what);
    }
    expect(leaked).toEqual([]);
    latchkey = undefined;
  });
});
