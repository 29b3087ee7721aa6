// kill -9 during load, then start again: no lost grants or keys, no
// half-applied state. Latchkey runs as a separate process against the test
// database of the current dialect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { pendingMigrations } from '../../src/db/migrator.ts';
import { createServices } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { spawnLatchkey, type LatchkeyProcess } from '../helpers/latchkey-process.ts';
import { createRelyingParty, signInAndAllow } from '../helpers/rp.ts';
import { freePort } from '../helpers/free-port.ts';
import { testEnv } from '../helpers/test-env.ts';

const API = 'https://crash.example.test/api';
const REDIRECT = 'http://127.0.0.1:9/cb';
const USER = { email: 'crash@example.test', password: 'correct horse battery staple' };

let database: TestDatabase;
let dataDir: string;
let env: Record<string, string>;
let issuer: string;
let running: LatchkeyProcess | undefined;
let service: { id: string; secret: string };
let webApp: { id: string; secret: string };

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-crash-'));
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  env = testEnv({ port, databaseUrl: database.url, dataDir }, { LOG_LEVEL: 'warn' });
  const services = createServices({ config: loadConfig(env), db: database.db });
  await services.resources.create({ identifier: API, scopes: ['read'] });
  const a = await services.clients.create({ name: 'Crash service', grantTypes: ['client_credentials'], resources: [API] });
  service = { id: a.client.clientId, secret: a.clientSecret! };
  const b = await services.clients.create({ name: 'Crash app', redirectUris: [REDIRECT] });
  webApp = { id: b.client.clientId, secret: b.clientSecret! };
  await services.accounts.create({ ...USER, name: 'Crash Test' });
}, 120_000);

afterAll(async () => {
  running?.child.kill('SIGKILL');
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function clientCredentialsToken(): Promise<string | undefined> {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${service.id}:${service.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
    signal: AbortSignal.timeout(10_000),
  });
  return ((await response.json()) as { access_token?: string }).access_token;
}

async function publishedKeys(): Promise<JSONWebKeySet> {
  return (await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet;
}

describe('kill -9 under load', () => {
  it('loses no grant and no key, and leaves no half-applied state', { timeout: 180_000 }, async () => {
    running = await spawnLatchkey(env, issuer);
    const keysBefore = await publishedKeys();
    const rp = await createRelyingParty({ issuer, clientId: webApp.id, clientSecret: webApp.secret, redirectUri: REDIRECT });

    // Grants completed before the crash: each leaves a refresh token the app holds.
    const held: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { request, callback } = await signInAndAllow(rp, USER, { scope: 'openid offline_access', prompt: 'login consent' });
      const tokens = await rp.exchange(callback, request);
      expect(tokens.refresh_token).toBeTruthy();
      held.push(tokens.refresh_token!);
    }

    // Load: client-credentials tokens and fresh logins, until the kill.
    const issued: string[] = [];
    let loading = true;
    const load = [
      ...Array.from({ length: 3 }, async () => {
        while (loading) {
          try {
            const token = await clientCredentialsToken();
            if (token) issued.push(token);
          } catch {
            // the process died under us: expected
          }
        }
      }),
      (async () => {
        while (loading) {
          try {
            const { request, callback } = await signInAndAllow(rp, USER, { scope: 'openid offline_access', prompt: 'login consent' });
            await rp.exchange(callback, request);
          } catch {
            // the process died mid-login: expected
          }
        }
      })(),
    ];
    await new Promise((resolve) => setTimeout(resolve, 2000));
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');
    loading = false;
    await Promise.all(load);
    expect(issued.length).toBeGreaterThan(0);
    if (process.env.LATCHKEY_TEST_REPORT) console.log(JSON.stringify({ dialect: database.config.dialect, tokensBeforeKill: issued.length, grantsHeld: held.length }));

    // No half-applied state in the database itself.
    expect(await pendingMigrations(database.config)).toEqual([]);
    if (database.config.dialect === 'sqlite') {
      const raw = new Sqlite(database.config.sqlitePath!, { readonly: true });
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      raw.close();
    }

    running = await spawnLatchkey(env, issuer);

    // The same keys, so every token issued before the crash still verifies.
    expect(await publishedKeys()).toEqual(keysBefore);
    const jwks = createLocalJWKSet(keysBefore);
    for (const token of issued) {
      await expect(jwtVerify(token, jwks, { issuer, audience: API, typ: 'at+jwt' })).resolves.toBeDefined();
    }
    // Every grant completed before the crash still works: its refresh token is accepted (and rotated).
    for (const refreshToken of held) {
      const refreshed = await rp.refresh(refreshToken);
      expect(refreshed.access_token).toBeTruthy();
      expect(refreshed.refresh_token).not.toBe(refreshToken);
    }
    // And the restarted process serves new work.
    expect(await clientCredentialsToken()).toBeTruthy();
    running.child.kill('SIGTERM');
    expect((await running.exited).code).toBe(0);
    running = undefined;
  });
});
