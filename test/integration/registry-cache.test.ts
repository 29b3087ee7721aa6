// The in-process cache of clients and resources: one query per id until
// something changes, then dropped within one watch interval; unknown ids are
// remembered as absent; a failed load is not remembered. The watch is the
// same startPeriodic loop the server runs, on a short interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { providerClientSource } from '../../src/oidc/client-metadata.ts';
import { createRegistryCache, type RegistryCache } from '../../src/oidc/registry-cache.ts';
import { startPeriodic, type Periodic } from '../../src/periodic.ts';
import { createServices, type Services } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const API = 'https://cache.example.test/api';
const INTERVAL = 100;

let database: TestDatabase;
let services: Services;
let cache: RegistryCache;
let watcher: Periodic;
const watchErrors: unknown[] = [];
const loads = { clients: 0, resources: 0 };
let failNextLoad = false;
let clientId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  services = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url }), db: database.db });
  await services.resources.create({ identifier: API, scopes: ['read', 'write'] });
  clientId = (await services.clients.create({ name: 'Cached', grantTypes: ['client_credentials'], resources: [API] })).client.clientId;
  const source = providerClientSource(services.clients);
  // The real services on a real database, with their calls counted.
  cache = await createRegistryCache({
    clients: {
      async findProviderMetadata(id) {
        loads.clients += 1;
        if (failNextLoad) {
          failNextLoad = false;
          throw new Error('database unreachable');
        }
        return source.findProviderMetadata(id);
      },
      changeMarker: () => services.clients.changeMarker(),
    },
    resources: {
      async findByIdentifier(identifier) {
        loads.resources += 1;
        return services.resources.findByIdentifier(identifier);
      },
      changeMarker: () => services.resources.changeMarker(),
    },
  });
  // Watched the way the composition root watches it.
  watcher = startPeriodic({ name: 'registry watcher', run: cache.dropIfChanged, intervalMs: INTERVAL, onError: (error) => watchErrors.push(error) });
});

afterAll(async () => {
  await watcher?.stop();
  expect(watchErrors).toEqual([]);
  await database?.drop();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, INTERVAL * 4));

describe('registry cache', () => {
  it('loads a client and a resource once, however often and however concurrently they are asked for', async () => {
    const before = { ...loads };
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.clients.findProviderMetadata(clientId)));
    for (let i = 0; i < 50; i += 1) await cache.resources.findByIdentifier(API);
    expect(results.every((r) => r?.client_id === clientId)).toBe(true);
    expect(loads.clients - before.clients).toBe(1);
    expect(loads.resources - before.resources).toBe(1);
  });

  it('remembers an unknown client as absent until the registry changes', async () => {
    const before = loads.clients;
    for (let i = 0; i < 10; i += 1) expect(await cache.clients.findProviderMetadata('lk_unknown')).toBeUndefined();
    expect(loads.clients - before).toBe(1);
  });

  it.each([
    ['a secret rotation', async () => void (await services.clients.rotateSecret(clientId))],
    ['a new client', async () => void (await services.clients.create({ name: 'Another', grantTypes: ['client_credentials'], resources: [API] }))],
    ['a new resource', async () => void (await services.resources.create({ identifier: `https://cache.example.test/${Date.now()}`, scopes: ['x'] }))],
  ])('drops everything within one watch interval after %s', async (_name, change) => {
    const digestBefore = (await cache.clients.findProviderMetadata(clientId))?.client_secret;
    await change();
    await settle();
    const before = loads.clients;
    const after = await cache.clients.findProviderMetadata(clientId);
    expect(loads.clients - before).toBe(1);
    if (_name === 'a secret rotation') expect(after?.client_secret).not.toBe(digestBefore);
  });

  it('drops a deleted client', async () => {
    const doomed = (await services.clients.create({ name: 'Doomed', grantTypes: ['client_credentials'], resources: [API] })).client.clientId;
    await settle();
    expect(await cache.clients.findProviderMetadata(doomed)).toBeDefined();
    await services.clients.delete(doomed);
    await settle();
    expect(await cache.clients.findProviderMetadata(doomed)).toBeUndefined();
  });

  it('does not remember a failed load', async () => {
    await services.clients.create({ name: 'Bump', grantTypes: ['client_credentials'], resources: [API] });
    await settle();
    failNextLoad = true;
    await expect(cache.clients.findProviderMetadata(clientId)).rejects.toThrow('database unreachable');
    expect((await cache.clients.findProviderMetadata(clientId))?.client_id).toBe(clientId);
  });
});
