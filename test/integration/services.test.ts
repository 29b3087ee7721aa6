// The account, client and resource services against a real database (SQLite,
// or PostgreSQL when DATABASE_URL points at one): every rule, and that a
// broken rule writes nothing.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountRepository } from '../../src/accounts/account-repository.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createAccountService } from '../../src/accounts/account-service.ts';
import { createPasswordHasher } from '../../src/accounts/password-hasher.ts';
import { clientSecretMatches } from '../../src/clients/client-secret.ts';
import type { CreateClientInput } from '../../src/clients/client-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { CreateResourceInput } from '../../src/resources/resource-service.ts';
import { createServices, type Services } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let testDb: TestDatabase;
let services: Services;
/** The same database seen by a production configuration (stricter URL rules). */
let production: Services;

const API = 'https://api.example.com';
const REPORTS = 'https://reports.example.com/v1';

beforeAll(async () => {
  testDb = await createTestDatabase();
  services = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: testDb.url }), db: testDb.db });
  const productionConfig = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: testDb.url,
    LATCHKEY_SECRET: randomBytes(32).toString('base64url'),
    ISSUER: 'https://id.example.com',
  });
  production = createServices({ config: productionConfig, db: testDb.db });
  await services.resources.create({ identifier: API, scopes: ['read', 'write'] });
  await services.resources.create({ identifier: REPORTS, scopes: ['reports:read'] });
});

afterAll(async () => {
  await testDb?.drop();
});

async function expectRejected(promise: Promise<unknown>, code: ErrorCode, fragment: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code} containing "${fragment}"`).toBeDefined();
  expect(error).toMatchObject({ code });
  expect((error as Error).message).toContain(fragment);
}

const counts = async () => ({
  accounts: await testDb.db.prisma.account.count(),
  clients: await testDb.db.prisma.client.count(),
  resources: await testDb.db.prisma.apiResource.count(),
});

describe('resources', () => {
  it('creates with defaults, finds, lists and deletes by identifier or id', async () => {
    const created = await services.resources.create({ identifier: 'https://orders.example.com', scopes: ['orders:read orders:write', 'orders:read'] });
    expect(created).toMatchObject({
      identifier: 'https://orders.example.com',
      scopes: ['orders:read', 'orders:write'],
      accessTokenTtl: 900,
      signingAlg: 'ES256',
    });
    expect(await services.resources.findByIdentifier('https://orders.example.com')).toEqual(created);
    expect((await services.resources.list()).map((r) => r.identifier)).toContain('https://orders.example.com');

    const custom = await services.resources.create({ identifier: 'http://localhost:4000/api', scopes: ['x'], accessTokenTtl: 86400, signingAlg: 'EdDSA' });
    expect(custom).toMatchObject({ accessTokenTtl: 86400, signingAlg: 'EdDSA' });

    expect((await services.resources.delete('https://orders.example.com')).id).toBe(created.id);
    expect((await services.resources.delete(custom.id)).identifier).toBe('http://localhost:4000/api');
    expect(await services.resources.findByIdentifier('https://orders.example.com')).toBeUndefined();
    await expectRejected(services.resources.delete('https://orders.example.com'), 'not_found', 'does not exist');
  });

  const bad: [string, CreateResourceInput, ErrorCode, string, 'test' | 'production'][] = [
    ['relative identifier', { identifier: 'api', scopes: ['a'] }, 'invalid_input', 'not an absolute URL', 'test'],
    ['fragment', { identifier: 'https://x.example.com/#f', scopes: ['a'] }, 'invalid_input', 'fragment', 'test'],
    ['non-web scheme', { identifier: 'urn:example:api', scopes: ['a'] }, 'invalid_input', 'https URL', 'test'],
    ['http remote host in production', { identifier: 'http://api.example.net', scopes: ['a'] }, 'invalid_input', 'https in production', 'production'],
    ['no scope', { identifier: 'https://x.example.com', scopes: [] }, 'invalid_input', 'at least one scope', 'test'],
    ['blank scope', { identifier: 'https://x.example.com', scopes: ['  '] }, 'invalid_input', 'at least one scope', 'test'],
    ['scope with a quote', { identifier: 'https://x.example.com', scopes: ['a"b'] }, 'invalid_input', 'not a valid scope token', 'test'],
    ['ttl 0', { identifier: 'https://x.example.com', scopes: ['a'], accessTokenTtl: 0 }, 'invalid_input', 'TTL', 'test'],
    ['ttl above a day', { identifier: 'https://x.example.com', scopes: ['a'], accessTokenTtl: 86401 }, 'invalid_input', 'TTL', 'test'],
    ['fractional ttl', { identifier: 'https://x.example.com', scopes: ['a'], accessTokenTtl: 1.5 }, 'invalid_input', 'TTL', 'test'],
    ['unknown alg', { identifier: 'https://x.example.com', scopes: ['a'], signingAlg: 'HS256' }, 'invalid_input', 'not one of ES256, RS256, EdDSA', 'test'],
    ['duplicate identifier', { identifier: API, scopes: ['a'] }, 'already_exists', 'exists', 'test'],
  ];
  for (const [label, input, code, fragment, env] of bad) {
    it(`refuses ${label} (${code}) and writes nothing`, async () => {
      const before = await counts();
      await expectRejected((env === 'production' ? production : services).resources.create(input), code, fragment);
      expect(await counts()).toEqual(before);
    });
  }
});

describe('clients', () => {
  it('creates a confidential web client: defaults, secret once, digest stored', async () => {
    const { client, clientSecret } = await services.clients.create({ name: 'Web', redirectUris: ['https://app.example.com/cb'], resources: [API] });
    expect(client.clientId).toMatch(/^lk_[A-Za-z0-9_-]{22}$/);
    expect(client).toMatchObject({
      name: 'Web',
      public: false,
      applicationType: 'web',
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
      redirectUris: ['https://app.example.com/cb'],
      postLogoutRedirectUris: [],
      scope: 'openid profile email offline_access read write',
      resources: [API],
    });
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    const row = await testDb.db.prisma.client.findUniqueOrThrow({ where: { id: client.clientId } });
    expect(row.secretHash).toBe(createHash('sha256').update(clientSecret!).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(clientSecret);
    expect(JSON.parse(row.metadata)).not.toHaveProperty('client_secret');

    const metadata = await services.clients.findProviderMetadata(client.clientId);
    expect(metadata).toEqual({
      client_id: client.clientId,
      client_secret: row.secretHash,
      client_name: 'Web',
      application_type: 'web',
      redirect_uris: ['https://app.example.com/cb'],
      post_logout_redirect_uris: [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid profile email offline_access read write',
      token_endpoint_auth_method: 'client_secret_basic',
      resources: [API],
    });
    expect(clientSecretMatches(clientSecret!, metadata!.client_secret!)).toBe(true);
    expect(clientSecretMatches(`${clientSecret}x`, metadata!.client_secret!)).toBe(false);
  });

  it('creates a public native client without a secret', async () => {
    const created = await services.clients.create({
      name: 'Phone',
      public: true,
      redirectUris: ['com.example.app:/oauth/cb', 'http://127.0.0.1/cb'],
      postLogoutRedirectUris: ['com.example.app:/bye'],
    });
    expect(created).not.toHaveProperty('clientSecret');
    expect(created.client).toMatchObject({ public: true, applicationType: 'native', tokenEndpointAuthMethod: 'none' });
    const row = await testDb.db.prisma.client.findUniqueOrThrow({ where: { id: created.client.clientId } });
    expect(row.secretHash).toBeNull();
    const metadata = await services.clients.findProviderMetadata(created.client.clientId);
    expect(metadata).not.toHaveProperty('client_secret');
    expect(metadata).toMatchObject({ token_endpoint_auth_method: 'none', post_logout_redirect_uris: ['com.example.app:/bye'] });
    await expectRejected(services.clients.rotateSecret(created.client.clientId), 'invalid_input', 'no secret to rotate');
  });

  it('creates a client_credentials client scoped to its resources', async () => {
    const { client, clientSecret } = await services.clients.create({ name: 'Batch', grantTypes: ['client_credentials'], resources: [API, REPORTS] });
    expect(clientSecret).toBeDefined();
    expect(client).toMatchObject({ grantTypes: ['client_credentials'], responseTypes: [], redirectUris: [], scope: 'read write reports:read' });
  });

  it('keeps an explicit scope and a private_key_jwt client has no secret', async () => {
    const { client, clientSecret } = await services.clients.create({
      name: 'Signed',
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://signer.example.com/jwks.json',
      scope: 'read',
      resources: [API],
    });
    expect(clientSecret).toBeUndefined();
    expect(client).toMatchObject({ scope: 'read', jwksUri: 'https://signer.example.com/jwks.json', public: false });
    expect(await services.clients.findProviderMetadata(client.clientId)).not.toHaveProperty('client_secret');
    await expectRejected(services.clients.rotateSecret(client.clientId), 'invalid_input', 'no secret to rotate');
  });

  it('allows http redirect URIs to remote hosts outside production only', async () => {
    const { client } = await services.clients.create({ name: 'Dev', redirectUris: ['http://dev.example.net/cb'] });
    expect(client.redirectUris).toEqual(['http://dev.example.net/cb']);
    const local = await production.clients.create({ name: 'Local', redirectUris: ['http://localhost:8080/cb'] });
    expect(local.client.redirectUris).toEqual(['http://localhost:8080/cb']);
  });

  it('lists, gets, rotates and deletes', async () => {
    const { client, clientSecret } = await services.clients.create({ name: 'Rotating', redirectUris: ['https://r.example.com/cb'] });
    expect((await services.clients.list()).map((c) => c.clientId)).toContain(client.clientId);
    expect(await services.clients.get(client.clientId)).toEqual(client);

    const rotated = await services.clients.rotateSecret(client.clientId);
    expect(rotated.clientSecret).not.toBe(clientSecret);
    const digest = (await services.clients.findProviderMetadata(client.clientId))!.client_secret!;
    expect(clientSecretMatches(rotated.clientSecret, digest)).toBe(true);
    expect(clientSecretMatches(clientSecret!, digest)).toBe(false);

    expect((await services.clients.delete(client.clientId)).clientId).toBe(client.clientId);
    expect(await services.clients.findProviderMetadata(client.clientId)).toBeUndefined();
    for (const operation of [
      () => services.clients.get(client.clientId),
      () => services.clients.delete(client.clientId),
      () => services.clients.rotateSecret(client.clientId),
    ]) {
      await expectRejected(operation(), 'not_found', 'does not exist');
    }
  });

  const web = { name: 'Bad', redirectUris: ['https://app.example.com/cb'] };
  const bad: [string, CreateClientInput, string, 'test' | 'production'][] = [
    ['no name', { ...web, name: '  ' }, 'client name is required', 'test'],
    ['unknown grant type', { ...web, grantTypes: ['password'] }, 'unknown grant type "password"', 'test'],
    ['empty grant types', { ...web, grantTypes: [] }, 'at least one grant type', 'test'],
    ['neither redirect URI nor grant type', { name: 'Bad' }, 'client_credentials grant for a machine client', 'test'],
    ['authorization_code without redirect URI', { name: 'Bad', grantTypes: ['authorization_code'] }, 'needs at least one redirect URI', 'test'],
    ['refresh_token alone', { ...web, grantTypes: ['refresh_token'] }, 'only useful together with authorization_code', 'test'],
    ['redirect URI on a client_credentials client', { ...web, grantTypes: ['client_credentials'], resources: [API] }, 'only with the authorization_code grant', 'test'],
    ['relative redirect URI', { name: 'Bad', redirectUris: ['/callback'] }, '"/callback" is not an absolute URI', 'test'],
    ['redirect URI with fragment', { name: 'Bad', redirectUris: ['https://app.example.com/cb#x'] }, 'must not contain a fragment', 'test'],
    ['http remote redirect in production', { name: 'Bad', redirectUris: ['http://app.example.com/cb'] }, 'must use https in production', 'production'],
    ['http remote post-logout URI in production', { ...web, postLogoutRedirectUris: ['http://app.example.com/bye'] }, 'post-logout redirect URI "http://app.example.com/bye" must use https', 'production'],
    ['javascript: redirect', { name: 'Bad', public: true, redirectUris: ['javascript:alert(1)'] }, 'reverse-domain private-use scheme', 'test'],
    ['private-use scheme on a confidential client', { name: 'Bad', redirectUris: ['com.example.app:/cb'] }, 'only for public (native) clients', 'test'],
    ['native client with remote http redirect', { name: 'Bad', public: true, redirectUris: ['com.example.app:/cb', 'http://app.example.com/cb'] }, 'a native app may use http only with', 'test'],
    ['public client with client_credentials', { name: 'Bad', public: true, grantTypes: ['client_credentials'], resources: [API] }, 'public client cannot use the client_credentials grant', 'test'],
    ['public client with a secret method', { ...web, public: true, tokenEndpointAuthMethod: 'client_secret_post' }, 'authenticates with "none", not "client_secret_post"', 'test'],
    ['unknown auth method', { ...web, tokenEndpointAuthMethod: 'tls_client_auth' }, 'token endpoint auth method "tls_client_auth" is not one of', 'test'],
    ['private_key_jwt without JWKS URI', { ...web, tokenEndpointAuthMethod: 'private_key_jwt' }, 'needs a JWKS URI', 'test'],
    ['private_key_jwt with http JWKS URI', { ...web, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'http://keys.example.com/jwks' }, 'must be an absolute https URL', 'test'],
    ['JWKS URI without private_key_jwt', { ...web, jwksUri: 'https://keys.example.com/jwks' }, 'only with the private_key_jwt', 'test'],
    ['unregistered resource', { ...web, resources: [API, 'https://nope.example.com'] }, 'resource https://nope.example.com is not registered', 'test'],
    ['client_credentials with nothing to get tokens for', { name: 'Bad', grantTypes: ['client_credentials'] }, 'needs at least one resource', 'test'],
    ['bad scope token', { ...web, scope: 'openid pro\\file' }, 'not a valid scope token', 'test'],
    ['empty explicit scope', { ...web, scope: ' ' }, 'scope must not be empty', 'test'],
  ];
  for (const [label, input, fragment, env] of bad) {
    it(`refuses ${label} (invalid_input) and writes nothing`, async () => {
      const before = await counts();
      await expectRejected((env === 'production' ? production : services).clients.create(input), 'invalid_input', fragment);
      expect(await counts()).toEqual(before);
    });
  }
});

describe('accounts', () => {
  it('creates with a normalised email, an opaque id and an argon2id hash', async () => {
    const account = await services.accounts.create({ email: '  Alice@Example.COM ', name: ' Alice ', password: 'correct horse' });
    expect(account).toMatchObject({ email: 'alice@example.com', name: 'Alice', disabled: false, emailVerified: false });
    expect(account.id).not.toContain('alice');
    expect(account).not.toHaveProperty('passwordHash');
    const row = await testDb.db.prisma.account.findUniqueOrThrow({ where: { id: account.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
    expect(row.passwordHash).not.toContain('correct horse');

    expect(await services.accounts.findByEmail('ALICE@example.com')).toEqual(account);
    expect(await services.accounts.findById(account.id)).toEqual(account);
    expect(await services.accounts.findByEmail('nobody@example.com')).toBeUndefined();
    const listed = await services.accounts.list();
    expect(listed.map((a) => a.email)).toContain('alice@example.com');
    for (const view of listed) expect(view).not.toHaveProperty('passwordHash');
  });

  it('disables, enables and changes the password by email or id', async () => {
    const account = await services.accounts.create({ email: 'bob@example.com', password: 'first password' });
    expect(await services.accounts.authenticate('BOB@example.com', 'first password')).toMatchObject({ id: account.id });
    expect(await services.accounts.authenticate('bob@example.com', 'wrong password')).toBeUndefined();
    expect(await services.accounts.authenticate('nobody@example.com', 'first password')).toBeUndefined();

    expect((await services.accounts.disable('Bob@Example.com')).disabled).toBe(true);
    expect(await services.accounts.authenticate('bob@example.com', 'first password')).toBeUndefined();
    expect((await services.accounts.enable(account.id)).disabled).toBe(false);

    await services.accounts.setPassword('bob@example.com', 'second password');
    expect(await services.accounts.authenticate('bob@example.com', 'first password')).toBeUndefined();
    expect(await services.accounts.authenticate('bob@example.com', 'second password')).toMatchObject({ id: account.id });

    for (const operation of [
      () => services.accounts.disable('ghost@example.com'),
      () => services.accounts.enable('no-such-id'),
      () => services.accounts.setPassword('ghost@example.com', 'long enough'),
    ]) {
      await expectRejected(operation(), 'not_found', 'does not exist');
    }
  });

  it('upgrades a hash made with weaker parameters at sign-in', async () => {
    const weak = createAccountService({
      repository: createAccountRepository(testDb.db),
      hasher: createPasswordHasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 }),
      artifacts: createArtifactRepository(testDb.db),
    });
    const account = await weak.create({ email: 'carol@example.com', password: 'carol password' });
    const before = await testDb.db.prisma.account.findUniqueOrThrow({ where: { id: account.id } });
    expect(before.passwordHash).toContain('m=4096,t=1,p=1');
    expect(await services.accounts.authenticate('carol@example.com', 'carol password')).toMatchObject({ id: account.id });
    const after = await testDb.db.prisma.account.findUniqueOrThrow({ where: { id: account.id } });
    expect(after.passwordHash).toContain('m=7168,t=5,p=1');
  });

  const bad: [string, { email: string; password: string; name?: string }, ErrorCode, string][] = [
    ['same email, other case', { email: 'ALICE@example.com', password: 'another password' }, 'already_exists', 'exists'],
    ['same email, padded', { email: ' alice@EXAMPLE.com ', password: 'another password' }, 'already_exists', 'exists'],
    ['empty email', { email: '  ', password: 'long enough' }, 'invalid_input', 'email is required'],
    ['email without @', { email: 'alice.example.com', password: 'long enough' }, 'invalid_input', 'not a valid email address'],
    ['email with a space', { email: 'al ice@example.com', password: 'long enough' }, 'invalid_input', 'not a valid email address'],
    ['email with an empty domain label', { email: 'alice@example..com', password: 'long enough' }, 'invalid_input', 'not a valid email address'],
    ['password of 7 characters', { email: 'new@example.com', password: '1234567' }, 'invalid_input', 'password must be 8 to 256 characters'],
    ['password of 257 characters', { email: 'new@example.com', password: 'p'.repeat(257) }, 'invalid_input', 'password must be 8 to 256 characters'],
  ];
  for (const [label, input, code, fragment] of bad) {
    it(`refuses ${label} (${code}) and writes nothing`, async () => {
      const before = await counts();
      await expectRejected(services.accounts.create(input), code, fragment);
      expect(await counts()).toEqual(before);
    });
  }

  it('refuses a too-short new password without touching the stored hash', async () => {
    const row = await testDb.db.prisma.account.findUniqueOrThrow({ where: { email: 'alice@example.com' } });
    await expectRejected(services.accounts.setPassword('alice@example.com', 'short'), 'invalid_input', 'password must be 8');
    expect((await testDb.db.prisma.account.findUniqueOrThrow({ where: { id: row.id } })).passwordHash).toBe(row.passwordHash);
  });
});

describe('password hasher', () => {
  const hasher = createPasswordHasher();

  it('hashes with argon2id and verifies', async () => {
    const hash = await hasher.hash('s3cret password');
    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(await hasher.verify(hash, 's3cret password')).toBe(true);
    expect(await hasher.verify(hash, 's3cret passwore')).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
    // A fresh 16-byte salt every time: the same password never hashes the same.
    const again = await hasher.hash('s3cret password');
    expect(again).not.toBe(hash);
    expect(Buffer.from(again.split('$')[4]!, 'base64').length).toBe(16);
  });

  it('verifies hashes stored before the switch to @node-rs/argon2 (made by the argon2 package, p before t)', async () => {
    const stored = [
      '$argon2id$v=19$m=19456,p=1,t=2$BsZyGV9pe4enb0LdCrjOOQ$FRePM+SI8apLdmcGR9ni25teEwz6mo6tdnPMbpfV7k8',
      '$argon2id$v=19$m=7168,p=1,t=5$j9g/x3Hx9xbwWQje/GXS2Q$5ZYMEqgaW/K5Uigiw5gysFML0cuox5UALAi4AM1FbOk',
    ];
    for (const hash of stored) {
      expect(await hasher.verify(hash, 'correct horse battery staple'), hash).toBe(true);
      expect(await hasher.verify(hash, 'correct horse battery stapl'), hash).toBe(false);
    }
    expect(hasher.needsRehash(stored[0]!)).toBe(true);
    expect(hasher.needsRehash(stored[1]!)).toBe(false);
  });

  it('never throws on a malformed hash', async () => {
    const unparseable = ['', 'plain', '$argon2id$v=19$m=19456,t=2,p=1$', '$argon2id$v=19$m=19456,t=2,p=1$AAAA$!!!!', '$argon2id$v=19$t=2,p=1$AAAA$AAAA', '$2b$10$abcdefghijklmnopqrstuv'];
    // Well-formed PHC strings that argon2 itself rejects (salt too short, zero cost).
    const rejectedByArgon2 = ['$argon2id$v=19$m=19456,t=2,p=1$AA$AA', '$argon2id$v=19$m=0,t=0,p=0$c29tZXNhbHQ$c29tZWhhc2g'];
    for (const hash of [...unparseable, ...rejectedByArgon2]) {
      expect(await hasher.verify(hash, 'whatever'), hash).toBe(false);
    }
    for (const hash of unparseable) expect(hasher.needsRehash(hash), hash).toBe(true);
  });

  it('asks for a rehash whenever the parameters differ from the configured ones, stronger included', async () => {
    // Configured (default): 7168 KiB × 5 passes. Fewer passes is short of it even with more memory.
    const weaker = await createPasswordHasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 }).hash('password!');
    const stronger = await createPasswordHasher({ memoryCost: 8192, timeCost: 5, parallelism: 1 }).hash('password!');
    const argon2i = '$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A';
    expect(hasher.needsRehash(weaker)).toBe(true);
    // Stronger is re-made too: every hash converges on one set, so sign-in time does not tell accounts apart.
    expect(hasher.needsRehash(stronger)).toBe(true);
    expect(hasher.needsRehash(argon2i)).toBe(true);
    expect(await hasher.verify(weaker, 'password!')).toBe(true);
  });
});
