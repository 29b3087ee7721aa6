// Provisions Latchkey's database the way an operator would, through the same
// services the CLI calls (straight on the database, no HTTP): the API, a
// service client, a login client and one person with a real argon2 password.
import type { Config } from '../src/config/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrator.ts';
import { createServices } from '../src/services.ts';
import { API, API_SCOPES, CALLBACK, USER, type Credentials } from './fixture.ts';

export async function provisionLatchkey(config: Config): Promise<Omit<Credentials, 'issuer'>> {
  await migrate(config.database);
  const db = await openDatabase(config.database, { poolSize: 2 });
  try {
    const { resources, clients, accounts } = createServices({ config, db });
    await resources.create({ identifier: API, scopes: [...API_SCOPES] });
    const service = await clients.create({ name: 'Bench service', grantTypes: ['client_credentials'], resources: [API] });
    const web = await clients.create({
      name: 'Bench web app',
      redirectUris: [CALLBACK],
      grantTypes: ['authorization_code', 'refresh_token'],
      resources: [API],
    });
    await accounts.create({ email: USER.email, password: USER.password });
    return {
      service: { id: service.client.clientId, secret: service.clientSecret! },
      web: { id: web.client.clientId, secret: web.clientSecret! },
    };
  } finally {
    await db.close();
  }
}
