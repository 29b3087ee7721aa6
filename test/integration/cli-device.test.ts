// `latchkey client create` for devices (RFC 8628), as an operator types it: the
// grant by its URN or as device_code (stored as the URN), public with
// --auth-method none or confidential with a secret, no redirect URI; and the
// refusals, which write nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const URN = 'urn:ietf:params:oauth:grant-type:device_code';
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop();
});

const cli = (args: readonly string[]) => runCli(args, { env: { DATABASE_URL: testDb.url } });

describe('latchkey client create for devices', () => {
  it.each([
    ['device_code, public through --auth-method none', ['--grant-types', 'device_code', '--auth-method', 'none'], [URN], true],
    ['the URN with refresh_token, public through --public', ['--grant-types', `${URN},refresh_token`, '--public'], [URN, 'refresh_token'], true],
    ['the URN, confidential (a secret, shown once)', ['--grant-types', URN], [URN], false],
  ] as const)('%s', async (_label, options, grantTypes, isPublic) => {
    const result = await cli(['client', 'create', '--name', 'TV', ...options, '--json']);
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    const { client, clientSecret } = JSON.parse(result.stdout);
    expect(client).toMatchObject({ grantTypes, public: isPublic, redirectUris: [], responseTypes: [] });
    expect(clientSecret === undefined).toBe(isPublic);
    const row = await testDb.db.prisma.client.findUniqueOrThrow({ where: { id: client.clientId } });
    expect(JSON.parse(row.metadata).grant_types).toEqual(grantTypes);
  });

  it.each([
    ['a redirect URI without the code flow', ['--grant-types', 'device_code', '--redirect-uri', 'https://tv.example.com/cb'], 1, 'only with the authorization_code grant'],
    ['a misspelt device grant', ['--grant-types', 'device-code'], 1, 'unknown grant type "device-code"'],
    ['two different auth methods', ['--grant-types', 'device_code', '--auth-method', 'none', '--token-endpoint-auth-method', 'client_secret_basic'], 2, 'name the same setting'],
  ] as const)('refuses %s and writes nothing', async (_label, options, exit, message) => {
    const before = await testDb.db.prisma.client.count();
    const result = await cli(['client', 'create', '--name', 'TV', ...options, '--json']);
    expect(result.code).toBe(exit);
    expect(JSON.parse(result.stdout).error.message).toContain(message);
    expect(await testDb.db.prisma.client.count()).toBe(before);
  });
});
