// The composition root on its own: createLatchkey builds a serving app and
// its background tasks from a config and an open database, without listening;
// the tasks are named and stoppable; and the test-only wrapAdapter seam sees
// every artifact oidc-provider writes.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLatchkey, type Latchkey } from '../../src/latchkey.ts';
import { createLog } from '../../src/log.ts';
import { createServices } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { testEnv } from '../helpers/test-env.ts';

const CALLBACK = 'https://app.example.test/callback';

let database: TestDatabase;
let dataDir: string;
let latchkey: Latchkey;
let server: http.Server;
let base: string;
const writes: { model: string; expiresIn: number | undefined }[] = [];

// Records every upsert, then lets the real adapter do it.
const recordWrites = (factory: AdapterFactory): AdapterFactory => (name) => {
  const adapter = factory(name);
  return Object.assign(Object.create(adapter) as Adapter, {
    upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      writes.push({ model: name, expiresIn });
      return adapter.upsert(id, payload, expiresIn);
    },
  });
};

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-root-'));
  const port = await freePort();
  const config = loadConfig(testEnv({ port, databaseUrl: database.url, dataDir }));
  latchkey = await createLatchkey(config, database.db, createLog(config), { wrapAdapter: recordWrites });
  server = http.createServer(latchkey.app.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  for (const task of latchkey?.tasks ?? []) await task.stop();
  await latchkey?.flushAudit();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('createLatchkey', () => {
  it('starts one task per background loop, each with its name', () => {
    expect(latchkey.tasks.map((task) => task.name)).toEqual(['key-set watcher', 'registry watcher', 'artifact purge', 'throttle purge', 'account token purge', 'logout notice purge', 'audit purge', 'mail sender', 'back-channel logout sender']);
  });

  it('serves: ready, with keys', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: true, migrations: true, keys: true } });
    const jwks = (await (await fetch(`${base}/jwks`)).json()) as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
  });

  it('passes oidc-provider the adapter wrapAdapter returned: an authorization request’s interaction is written through it', async () => {
    const services = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url }), db: database.db });
    const { client } = await services.clients.create({ name: 'Root', redirectUris: [CALLBACK] });
    const before = writes.length;
    const query = new URLSearchParams({ client_id: client.clientId, response_type: 'code', redirect_uri: CALLBACK, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const response = await fetch(`${base}/auth?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/interaction\/[\w-]+$/);
    expect(writes.slice(before)).toEqual([{ model: 'Interaction', expiresIn: expect.any(Number) }]);
  });
});
