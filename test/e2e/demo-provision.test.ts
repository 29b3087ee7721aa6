// The demo's provisioning is safe to run at every start: it reuses what
// exists, hands out a fresh usable client secret and password, and follows
// the web app to a new port.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientSecretMatches } from '../../src/clients/client-secret.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createServices, type Services } from '../../src/services.ts';
import { provisionDemo } from '../../demo/provision.ts';
import { DEMO_API_IDENTIFIER, DEMO_CLIENT_NAME, DEMO_EMAIL } from '../../demo/settings.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let services: Services;

beforeAll(async () => {
  database = await createTestDatabase();
  services = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url }), db: database.db });
});

afterAll(async () => {
  await database?.drop();
});

async function secretWorks(clientId: string, secret: string): Promise<boolean> {
  const metadata = await services.clients.findProviderMetadata(clientId);
  return Boolean(metadata?.client_secret && clientSecretMatches(secret, metadata.client_secret));
}

it('converges on one API, one app client and one user however often it runs', async () => {
  const first = await provisionDemo(services, { appUrl: 'http://localhost:4000', password: 'first-password' });
  const second = await provisionDemo(services, { appUrl: 'http://localhost:4000' });

  expect(second.clientId).toBe(first.clientId);
  expect(await secretWorks(second.clientId, second.clientSecret)).toBe(true);
  expect(await secretWorks(second.clientId, first.clientSecret)).toBe(false);
  expect(await services.accounts.authenticate(DEMO_EMAIL, second.password)).toMatchObject({ email: DEMO_EMAIL, name: 'Dana Demo' });
  expect(await services.accounts.authenticate(DEMO_EMAIL, 'first-password')).toBeUndefined();

  expect((await services.resources.list()).map((r) => r.identifier)).toEqual([DEMO_API_IDENTIFIER]);
  expect((await services.clients.list()).filter((c) => c.name === DEMO_CLIENT_NAME)).toHaveLength(1);
  expect(await services.accounts.list()).toHaveLength(1);
});

it('re-registers the app when it moves to another port', async () => {
  const before = await provisionDemo(services, { appUrl: 'http://localhost:4000' });
  const moved = await provisionDemo(services, { appUrl: 'http://localhost:4100' });
  expect(moved.clientId).not.toBe(before.clientId);
  const clients = (await services.clients.list()).filter((c) => c.name === DEMO_CLIENT_NAME);
  expect(clients.map((c) => ({ id: c.clientId, redirectUris: c.redirectUris, resources: c.resources }))).toEqual([
    { id: moved.clientId, redirectUris: ['http://localhost:4100/callback'], resources: [DEMO_API_IDENTIFIER] },
  ]);
});
