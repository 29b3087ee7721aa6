// `latchkey client update` and `latchkey resource update` as an operator runs
// them (a real child process, a real database): the same service and rules as
// the Admin API's PATCH, and refusals that exit non-zero and change nothing.
// Also `resource delete`, which now detaches the resource from its clients
// and refuses the admin resource.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { adminResourceIdentifier, ADMIN_SCOPES } from '../../src/resources/admin-resource.ts';
import { createServices, type Services } from '../../src/services.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const API = 'https://api.example.com';
const BILLING = 'https://billing.example.com/v2';
const ISSUER = 'http://localhost:3000';

let testDb: TestDatabase;
let services: Services;
let env: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  env = { DATABASE_URL: testDb.url, ISSUER };
  services = createServices({ config: loadConfig({ NODE_ENV: 'test', ...env }), db: testDb.db });
  await services.resources.create({ identifier: API, scopes: ['read', 'write'] });
  await services.resources.create({ identifier: BILLING, scopes: ['invoices'] });
  await services.resources.ensure({ identifier: adminResourceIdentifier(ISSUER), scopes: ADMIN_SCOPES });
});

afterAll(async () => {
  await testDb?.drop();
});

const cli = (args: readonly string[]): Promise<CliResult> => runCli(args, { env });

async function json<T = Record<string, any>>(args: readonly string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

describe('latchkey client update', () => {
  it('changes redirect URIs, name, resources and scope; lists given replace the old ones', async () => {
    const { client } = await services.clients.create({ name: 'App', redirectUris: ['https://app.example.com/cb'], resources: [API] });
    const { client: updated } = await json(['client', 'update', client.clientId, '--name', 'App 2', '--redirect-uri', 'https://app.example.com/a', '--redirect-uri', 'https://app.example.com/b', '--resource', BILLING, '--scope', 'openid invoices']);
    expect(updated).toMatchObject({ name: 'App 2', redirectUris: ['https://app.example.com/a', 'https://app.example.com/b'], resources: [BILLING], scope: 'openid invoices' });
    expect((await services.clients.get(client.clientId)).redirectUris).toEqual(['https://app.example.com/a', 'https://app.example.com/b']);
  });

  it('--clear resets a field (a cleared scope is derived from the resources again)', async () => {
    const { client } = await services.clients.create({ name: 'App', redirectUris: ['https://app.example.com/cb'], resources: [API], scope: 'openid' });
    const { client: updated } = await json(['client', 'update', client.clientId, '--clear', 'scope']);
    expect(updated.scope.split(' ')).toEqual(expect.arrayContaining(['openid', 'read', 'write']));
    const { client: noResources } = await json(['client', 'update', client.clientId, '--clear', 'resource']);
    expect(noResources.resources).toEqual([]);
  });

  it('switching to a secret-based auth method prints the new secret once; the sign-in toggles still work', async () => {
    const { client } = await services.clients.create({ name: 'SPA', public: true, redirectUris: ['https://spa.example.com/cb'] });
    const result = await json(['client', 'update', client.clientId, '--token-endpoint-auth-method', 'client_secret_post', '--require-mfa', 'true']);
    expect(result.clientSecret).toEqual(expect.any(String));
    expect(result.client).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_post', public: false, requireMfa: true });
  });

  it('records client.updated with actor cli', async () => {
    const { client } = await services.clients.create({ name: 'Audited', grantTypes: ['client_credentials'], resources: [API] });
    await json(['client', 'update', client.clientId, '--name', 'Audited 2']);
    const events = await services.audit.list({ types: ['client.updated'] });
    expect(events.find((event) => event.subject === client.clientId)).toMatchObject({ actor: 'cli' });
  });

  const refusals: readonly { label: string; args: (id: string) => string[]; exit: 1 | 2; code: string; message: string }[] = [
    { label: 'nothing to change', args: (id) => ['client', 'update', id], exit: 2, code: 'usage_error', message: 'nothing to change' },
    { label: 'a toggle that is not true|false', args: (id) => ['client', 'update', id, '--require-mfa', 'maybe'], exit: 2, code: 'usage_error', message: 'takes true or false' },
    { label: '--clear of an unknown field', args: (id) => ['client', 'update', id, '--clear', 'name'], exit: 2, code: 'usage_error', message: '--clear takes one of' },
    { label: 'a relative redirect URI', args: (id) => ['client', 'update', id, '--redirect-uri', 'callback'], exit: 1, code: 'invalid_input', message: 'is not an absolute URI' },
    { label: 'an unregistered resource', args: (id) => ['client', 'update', id, '--resource', 'https://nowhere.example.com'], exit: 1, code: 'invalid_input', message: 'is not registered' },
    { label: 'client_credentials while keeping redirect URIs', args: (id) => ['client', 'update', id, '--grant-types', 'client_credentials'], exit: 1, code: 'invalid_input', message: 'redirect URIs are used only' },
    { label: 'an unknown client', args: () => ['client', 'update', 'lk_nope', '--name', 'x'], exit: 1, code: 'not_found', message: 'does not exist' },
  ];

  for (const refusal of refusals) {
    it(`refuses ${refusal.label}: exit ${refusal.exit}, ${refusal.code}, nothing changed`, async () => {
      const { client } = await services.clients.create({ name: 'Kept', redirectUris: ['https://kept.example.com/cb'], resources: [API] });
      const result = await cli([...refusal.args(client.clientId), '--json']);
      expect(result.code).toBe(refusal.exit);
      expect(JSON.parse(result.stdout)).toEqual({ error: { code: refusal.code, message: expect.stringContaining(refusal.message) } });
      expect(await services.clients.get(client.clientId)).toEqual(client);
    });
  }
});

describe('latchkey resource update / delete', () => {
  it('replaces the scopes and changes TTL and algorithm; the identifier stays', async () => {
    const { resource } = await json(['resource', 'update', BILLING, '--scope', 'invoices', '--scope', 'refunds', '--access-token-ttl', '600', '--signing-alg', 'RS256']);
    expect(resource).toMatchObject({ identifier: BILLING, scopes: ['invoices', 'refunds'], accessTokenTtl: 600, signingAlg: 'RS256' });
    const events = await services.audit.list({ types: ['resource.updated'] });
    expect(events[0]).toMatchObject({ subject: BILLING, actor: 'cli' });
  });

  it.each([
    { label: 'nothing to change', args: ['resource', 'update', BILLING], exit: 2, code: 'usage_error' },
    { label: 'no scopes left', args: ['resource', 'update', BILLING, '--scope', ' '], exit: 1, code: 'invalid_input' },
    { label: 'a TTL above a day', args: ['resource', 'update', BILLING, '--access-token-ttl', '86401'], exit: 1, code: 'invalid_input' },
    { label: 'an unknown algorithm', args: ['resource', 'update', BILLING, '--signing-alg', 'HS256'], exit: 1, code: 'invalid_input' },
    { label: 'an unknown resource', args: ['resource', 'update', 'https://nowhere.example.com', '--scope', 'a'], exit: 1, code: 'not_found' },
  ])('refuses $label: exit $exit, $code', async ({ args, exit, code }) => {
    const before = await services.resources.findByIdentifier(BILLING);
    const result = await cli([...args, '--json']);
    expect(result.code).toBe(exit);
    expect(JSON.parse(result.stdout).error.code).toBe(code);
    expect(await services.resources.findByIdentifier(BILLING)).toEqual(before);
  });

  it('delete removes the identifier from the clients naming it', async () => {
    const identifier = 'https://gone.example.com';
    await services.resources.create({ identifier, scopes: ['g'] });
    const { client } = await services.clients.create({ name: 'Naming it', grantTypes: ['client_credentials'], resources: [API, identifier] });
    await json(['resource', 'delete', identifier]);
    expect((await services.clients.get(client.clientId)).resources).toEqual([API]);
  });

  it('refuses to delete the admin resource: exit 1, conflict', async () => {
    const result = await cli(['resource', 'delete', adminResourceIdentifier(ISSUER), '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('conflict');
    expect(await services.resources.findByIdentifier(adminResourceIdentifier(ISSUER))).toBeDefined();
  });
});
