// PostgreSQL goes away under load and comes back: requests that need it fail
// fast with 503 (never another 5xx, never hanging), discovery and JWKS keep
// being served, readiness goes false, and everything recovers by itself.
// Client-credentials tokens need no database once the client is cached, so
// they may keep being issued through the outage; a refresh-token grant always
// needs it.
// The database is a private PostgreSQL of this test's own, so stopping it
// disturbs nothing else on the machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrator.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const API = 'https://outage.example.test/api';
/** No request may take longer than this, outage or not. */
const REQUEST_BOUND_MS = 8000;

let pg: PrivatePostgres;
let server: TestServer;
let auth: string;
let webAuth: string;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const config = loadConfig({ DATABASE_URL: pg.url }).database;
  await migrate(config);
  const db = await openDatabase(config, { poolSize: 4 });
  server = await startTestServer({ database: { url: pg.url, config, db, drop: () => db.close() } });
  await server.services.resources.create({ identifier: API, scopes: ['read'] });
  const created = await server.services.clients.create({ name: 'outage', grantTypes: ['client_credentials'], resources: [API] });
  auth = `Basic ${Buffer.from(`${created.client.clientId}:${created.clientSecret}`).toString('base64')}`;
  const web = await server.services.clients.create({ name: 'outage web', redirectUris: ['https://app.example.test/cb'] });
  webAuth = `Basic ${Buffer.from(`${web.client.clientId}:${web.clientSecret}`).toString('base64')}`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await server?.database.drop();
  pg?.destroy();
});

interface Outcome {
  readonly kind: 'client_credentials' | 'refresh_token';
  readonly status: number | 'timeout' | 'network';
  readonly phase: 'before' | 'during' | 'after';
  readonly token?: string;
  readonly ms?: number;
}

/** `phase()` is read when the answer arrives: a request sent just before the stop may rightly fail. */
async function requestToken(kind: Outcome['kind'], phase: () => Outcome['phase']): Promise<Outcome> {
  const started = performance.now();
  // A well-formed but unknown refresh token: answering it takes a database lookup.
  const body = kind === 'client_credentials' ? 'grant_type=client_credentials' : `grant_type=refresh_token&refresh_token=${'r'.repeat(43)}`;
  try {
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization: kind === 'client_credentials' ? auth : webAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(REQUEST_BOUND_MS),
    });
    const answer = (await response.json()) as { access_token?: string; error?: string };
    if (response.status === 503) expect(answer.error).toBe('temporarily_unavailable');
    if (response.status === 400) expect(answer.error).toBe('invalid_grant');
    return { kind, status: response.status, phase: phase(), token: answer.access_token, ms: performance.now() - started };
  } catch (error) {
    return { kind, status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network', phase: phase() };
  }
}

describe('a database outage under load', () => {
  it('answers 503 while PostgreSQL is down, keeps serving discovery and JWKS, and recovers by itself', { timeout: 120_000 }, async () => {
    const outcomes: Outcome[] = [];
    let phase: Outcome['phase'] = 'before';
    let running = true;
    // Four clients, each sending one request after another (bounded by the phases below).
    const kinds: Outcome['kind'][] = ['client_credentials', 'client_credentials', 'refresh_token', 'refresh_token'];
    const load = kinds.map(async (kind) => {
      while (running) outcomes.push(await requestToken(kind, () => phase));
    });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    phase = 'during';
    pg.stop();
    const duringChecks = {
      jwks: (await fetch(`${server.issuer}/jwks`)).status,
      discovery: (await fetch(`${server.issuer}/.well-known/openid-configuration`)).status,
      ready: (await fetch(`${server.issuer}/readyz`)).status,
    };
    await new Promise((resolve) => setTimeout(resolve, 3000));
    pg.start();
    phase = 'after';
    await new Promise((resolve) => setTimeout(resolve, 3000));
    running = false;
    await Promise.all(load);

    if (process.env.LATCHKEY_TEST_REPORT) {
      const counts: Record<string, number> = {};
      for (const o of outcomes) counts[`${o.kind} ${o.phase} ${o.status}`] = (counts[`${o.kind} ${o.phase} ${o.status}`] ?? 0) + 1;
      const slowest = Math.max(...outcomes.map((o) => o.ms ?? 0));
      console.log(JSON.stringify({ counts, slowestMs: Math.round(slowest), duringChecks }));
    }
    const normal = (o: Outcome) => (o.kind === 'client_credentials' ? 200 : 400);
    // Nothing but the normal answer or "try again": no 500, no hung request, no dropped connection.
    expect(outcomes.filter((o) => o.status !== normal(o) && o.status !== 503).map((o) => `${o.kind} ${o.phase} ${o.status}`)).toEqual([]);
    expect(outcomes.filter((o) => o.phase === 'before').every((o) => o.status === normal(o))).toBe(true);
    expect(outcomes.some((o) => o.kind === 'refresh_token' && o.phase === 'during' && o.status === 503)).toBe(true);
    expect(duringChecks).toEqual({ jwks: 200, discovery: 200, ready: 503 });

    // Recovered without a restart: the last requests of each kind are answered normally, and readiness is back.
    for (const kind of kinds) {
      const after = outcomes.filter((o) => o.kind === kind && o.phase === 'after');
      expect(after.slice(-4).every((o) => o.status === normal(o))).toBe(true);
    }
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);

    // Every token issued before the outage still verifies against the published keys.
    const jwks = createLocalJWKSet((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: [] });
    const before = outcomes.filter((o) => o.phase === 'before' && o.token);
    expect(before.length).toBeGreaterThan(0);
    for (const { token } of before) {
      await expect(jwtVerify(token!, jwks, { issuer: server.issuer, audience: API, typ: 'at+jwt' })).resolves.toBeDefined();
    }
  });
});
