// Provisions Latchkey's database the way an operator would, through the same
// services the CLI calls (straight on the database, no HTTP): the API, a
// service client, a login client and one person with a real argon2 password;
// for the Admin API scenario also 1,000 more clients, and per server process
// (each has its own issuer, so its own admin resource) an admin client.
import type { Config } from '../src/config/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrator.ts';
import { createServices } from '../src/services.ts';
import { ADMIN_SCOPES, adminResourceIdentifier } from '../src/resources/admin-resource.ts';
import { ADMIN_BENCH_CLIENTS, API, API2, API2_SCOPES, API_SCOPES, CALLBACK, TOKEN_EXCHANGE_GRANT, USER, type Credentials } from './fixture.ts';

export async function provisionLatchkey(config: Config, options: { readonly adminClients?: boolean } = {}): Promise<Omit<Credentials, 'issuer' | 'admin'>> {
  await migrate(config.database);
  const db = await openDatabase(config.database, { poolSize: 2 });
  try {
    const { resources, clients, accounts } = createServices({ config, db });
    await resources.create({ identifier: API, scopes: [...API_SCOPES] });
    await resources.create({ identifier: API2, scopes: [...API2_SCOPES] });
    const service = await clients.create({ name: 'Bench service', grantTypes: ['client_credentials'], resources: [API] });
    const web = await clients.create({
      name: 'Bench web app',
      redirectUris: [CALLBACK],
      grantTypes: ['authorization_code', 'refresh_token'],
      resources: [API],
    });
    const exchanger = await clients.create({ name: 'Bench exchanger', grantTypes: [TOKEN_EXCHANGE_GRANT], resources: [API], tokenExchangeAudiences: [API2] });
    await accounts.create({ email: USER.email, password: USER.password });
    if (options.adminClients) {
      for (let i = 0; i < ADMIN_BENCH_CLIENTS; i++) {
        await clients.create({ name: `Bench listed ${i}`, redirectUris: [`https://rp${i}.bench.test/callback`], grantTypes: ['authorization_code', 'refresh_token'], resources: [API] });
      }
    }
    return {
      service: { id: service.client.clientId, secret: service.clientSecret! },
      web: { id: web.client.clientId, secret: web.clientSecret! },
      exchanger: { id: exchanger.client.clientId, secret: exchanger.clientSecret! },
    };
  } finally {
    await db.close();
  }
}

/** An admin client (clients:read) for the server whose configuration is `config`: its admin resource ensured first, as the server does at boot. */
export async function provisionAdminClient(config: Config): Promise<NonNullable<Credentials['admin']>> {
  const db = await openDatabase(config.database, { poolSize: 1 });
  try {
    const { resources, clients } = createServices({ config, db });
    const identifier = adminResourceIdentifier(config.issuer);
    await resources.ensure({ identifier, scopes: ADMIN_SCOPES });
    const admin = await clients.create({ name: 'Bench admin', grantTypes: ['client_credentials'], resources: [identifier], scope: 'clients:read' });
    return { id: admin.client.clientId, secret: admin.clientSecret! };
  } finally {
    await db.close();
  }
}
