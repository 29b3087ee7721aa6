// Makes sure Latchkey knows the demo's API, app and user, through the same
// services the CLI uses. Safe to run at every start: what exists is reused,
// what changed (the app's port) is re-registered. The app's client secret is
// rotated each time because Latchkey keeps only its digest.
import { randomBytes } from 'node:crypto';
import type { Services } from '../src/services.ts';
import { DEMO_API_IDENTIFIER, DEMO_API_SCOPE, DEMO_CLIENT_NAME, DEMO_EMAIL } from './settings.ts';

export interface DemoRegistration {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly email: string;
  readonly password: string;
}

export interface ProvisionOptions {
  readonly appUrl: string;
  /** Reused if given, else a new random one. */
  readonly password?: string;
}

export async function provisionDemo(services: Services, options: ProvisionOptions): Promise<DemoRegistration> {
  const { resources, clients, accounts } = services;

  if (!(await resources.findByIdentifier(DEMO_API_IDENTIFIER))) {
    await resources.create({ identifier: DEMO_API_IDENTIFIER, scopes: [DEMO_API_SCOPE] });
  }

  const redirectUri = `${options.appUrl}/callback`;
  const existing = (await clients.list()).find((client) => client.name === DEMO_CLIENT_NAME);
  let client: { clientId: string; clientSecret: string };
  if (existing && existing.redirectUris.join() === redirectUri && existing.resources.includes(DEMO_API_IDENTIFIER)) {
    const rotated = await clients.rotateSecret(existing.clientId);
    client = { clientId: existing.clientId, clientSecret: rotated.clientSecret };
  } else {
    if (existing) await clients.delete(existing.clientId);
    const created = await clients.create({ name: DEMO_CLIENT_NAME, redirectUris: [redirectUri], postLogoutRedirectUris: [`${options.appUrl}/`], resources: [DEMO_API_IDENTIFIER] });
    client = { clientId: created.client.clientId, clientSecret: created.clientSecret! };
  }

  const password = options.password ?? `demo-${randomBytes(6).toString('hex')}`;
  if (await accounts.findByEmail(DEMO_EMAIL)) {
    await accounts.setPassword(DEMO_EMAIL, password);
  } else {
    await accounts.create({ email: DEMO_EMAIL, name: 'Dana Demo', password });
  }

  return { ...client, email: DEMO_EMAIL, password };
}
