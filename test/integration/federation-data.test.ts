// The data layer of upstream identity providers (src/federation/) against a
// real database, on the dialect under test: providers created, validated,
// changed and deleted, their client secrets sealed at rest; upstream
// identities linked to one account each; accounts made by a federated
// sign-in (no password) and kept up to date with the upstream's claims; and
// the migration that made passwordHash nullable keeping every row and index.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { createIdpSecretSealer, type IdentityProviderInput } from '../../src/federation/identity-provider-service.ts';
import { createServices, type Services } from '../../src/services.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';

let testDb: TestDatabase;
let services: Services;
/** The same database seen by a production configuration (https issuers only). */
let production: Services;
const SECRET = randomBytes(32).toString('base64url');
const NOW = new Date('2026-12-06T20:00:00.000Z');

beforeAll(async () => {
  testDb = await createTestDatabase();
  services = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: testDb.url, LATCHKEY_SECRET: SECRET }), db: testDb.db });
  production = createServices({
    config: loadConfig({ NODE_ENV: 'production', DATABASE_URL: testDb.url, LATCHKEY_SECRET: SECRET, ISSUER: 'https://id.example.com' }),
    db: testDb.db,
  });
});

afterAll(async () => {
  await testDb?.drop();
});

async function codeOf(promise: Promise<unknown>): Promise<{ code?: ErrorCode; field?: string; message?: string } | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => error as { code?: ErrorCode; field?: string; message?: string },
  );
}

const ACME: IdentityProviderInput = { name: 'Acme SSO', issuer: 'https://sso.acme.example', clientId: 'latchkey', clientSecret: 'acme-client-secret-value' };

describe('identity providers', () => {
  it('creates one with its defaults, seals the secret under its id, and finds it by slug', async () => {
    const acme = await services.identityProviders.create(ACME);
    expect(acme).toMatchObject({ slug: 'acme-sso', name: 'Acme SSO', type: 'oidc', issuer: 'https://sso.acme.example', clientId: 'latchkey', scope: 'openid email profile', enabled: true });
    expect(acme).not.toHaveProperty('sealedClientSecret');
    expect(acme).not.toHaveProperty('clientSecret');
    expect(await services.identityProviders.findBySlug('acme-sso')).toEqual(acme);

    const row = await testDb.db.prisma.identityProvider.findUniqueOrThrow({ where: { slug: 'acme-sso' } });
    expect(row.sealedClientSecret).toMatch(/^v1\./);
    expect(row.sealedClientSecret).not.toContain(ACME.clientSecret);
    expect(row.sealedClientSecret).not.toContain(Buffer.from(ACME.clientSecret).toString('base64url'));
    // Its own key (not the private keys'), bound to the row's id.
    expect(createIdpSecretSealer(SECRET).open(row.sealedClientSecret, row.id)).toBe(ACME.clientSecret);
    expect(() => createIdpSecretSealer(SECRET).open(row.sealedClientSecret, 'another-id')).toThrow(expect.objectContaining({ code: 'key_unavailable' }));
    expect(await services.identityProviders.clientSecretOf(acme)).toBe(ACME.clientSecret);
  });

  it('defaults a github provider to github.com and its scopes, and takes a typed slug', async () => {
    const github = await services.identityProviders.create({ name: 'GitHub', type: 'github', clientId: 'Iv1.abc', clientSecret: 'gh-secret', slug: 'gh' });
    expect(github).toMatchObject({ slug: 'gh', type: 'github', issuer: 'https://github.com', scope: 'read:user user:email' });
    const enterprise = await services.identityProviders.create({ name: 'GitHub Enterprise', type: 'github', issuer: 'https://github.corp.example', clientId: 'x', clientSecret: 'y', enabled: false });
    expect(enterprise).toMatchObject({ slug: 'github-enterprise', issuer: 'https://github.corp.example', enabled: false });
  });

  it('lists all by name, and only the enabled ones for the login page', async () => {
    expect((await services.identityProviders.list()).map((idp) => idp.slug)).toEqual(['acme-sso', 'gh', 'github-enterprise']);
    expect((await services.identityProviders.listEnabled()).map((idp) => idp.slug)).toEqual(['acme-sso', 'gh']);
  });

  it('derives slugs from names: accents dropped, runs of anything else one hyphen, trimmed, at most 64', async () => {
    const cases: [string, string][] = [
      ['Café  Login!', 'cafe-login'],
      ['  --Zürich__IdP-- ', 'zurich-idp'],
      ['A'.repeat(70), 'a'.repeat(64)],
      [`${'b'.repeat(63)} c`, 'b'.repeat(63)],
    ];
    for (const [name, slug] of cases) {
      const created = await services.identityProviders.create({ ...ACME, name });
      expect(created.slug, name).toBe(slug);
      await services.identityProviders.delete(slug);
    }
  });

  it('refuses bad input with invalid_input naming the field, and a taken slug with already_exists; nothing is written', async () => {
    const before = await testDb.db.prisma.identityProvider.count();
    const cases: { input: Partial<IdentityProviderInput> & Record<string, unknown>; code: ErrorCode; field?: string; on?: Services }[] = [
      { input: { name: '' }, code: 'invalid_input', field: 'name' },
      { input: { name: '   ' }, code: 'invalid_input', field: 'name' },
      { input: { name: 'x'.repeat(101) }, code: 'invalid_input', field: 'name' },
      { input: { name: 'Bad\u0000Name' }, code: 'invalid_input', field: 'name' },
      { input: { name: 'Bad\nName' }, code: 'invalid_input', field: 'name' },
      { input: { name: 'Bad \ud800 Name' }, code: 'invalid_input', field: 'name' },
      { input: { name: '日本語', slug: undefined }, code: 'invalid_input', field: 'slug' },
      { input: { slug: 'Upper' }, code: 'invalid_input', field: 'slug' },
      { input: { slug: 'double--hyphen' }, code: 'invalid_input', field: 'slug' },
      { input: { slug: '-lead' }, code: 'invalid_input', field: 'slug' },
      { input: { slug: 'a'.repeat(65) }, code: 'invalid_input', field: 'slug' },
      { input: { slug: 'under_score' }, code: 'invalid_input', field: 'slug' },
      { input: { slug: 'acme-sso' }, code: 'already_exists' },
      { input: { type: 'saml' as never }, code: 'invalid_input', field: 'type' },
      { input: { issuer: '' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: undefined }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'sso.acme.example' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'ftp://sso.acme.example' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'https://sso.acme.example/?tenant=1' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'https://sso.acme.example/#frag' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'https://user:pw@sso.acme.example' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'https://sso.acme.example/\u0000' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: `https://sso.acme.example/${'p'.repeat(2048)}` }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'http://sso.acme.example' }, code: 'invalid_input', field: 'issuer', on: production },
      { input: { issuer: 'http://sso.acme.example' }, code: 'invalid_input', field: 'issuer' },
      { input: { issuer: 'http://127.0.0.1:9000' }, code: 'invalid_input', field: 'issuer', on: production },
      { input: { issuer: 'http://localhost:9000/' }, code: 'invalid_input', field: 'issuer', on: production },
      { input: { clientId: '' }, code: 'invalid_input', field: 'client_id' },
      { input: { clientId: 'id\u0000' }, code: 'invalid_input', field: 'client_id' },
      { input: { clientId: 'i'.repeat(513) }, code: 'invalid_input', field: 'client_id' },
      { input: { clientSecret: '' }, code: 'invalid_input', field: 'client_secret' },
      { input: { clientSecret: 'sec\u0007ret' }, code: 'invalid_input', field: 'client_secret' },
      { input: { clientSecret: 's'.repeat(1025) }, code: 'invalid_input', field: 'client_secret' },
      { input: { scope: '' }, code: 'invalid_input', field: 'scope' },
      { input: { scope: 'email profile' }, code: 'invalid_input', field: 'scope' },
      { input: { scope: 'openid "quoted"' }, code: 'invalid_input', field: 'scope' },
      { input: { scope: 'openid \u0000' }, code: 'invalid_input', field: 'scope' },
    ];
    for (const { input, code, field, on } of cases) {
      const error = await codeOf((on ?? services).identityProviders.create({ ...ACME, slug: 'fresh-slug', ...input } as IdentityProviderInput));
      expect(error?.code, JSON.stringify(input)).toBe(code);
      if (field) expect(error?.field, JSON.stringify(input)).toBe(field);
      // A refusal never quotes the secret.
      expect(error?.message ?? '').not.toContain(ACME.clientSecret);
    }
    expect(await testDb.db.prisma.identityProvider.count()).toBe(before);
    // What is allowed: https everywhere; http to a loopback host outside production only (what the upstream clients will call).
    for (const [on, issuer] of [[production, 'https://sso.acme.example/realms/main/'], [services, 'http://127.0.0.1:9000'], [services, 'http://localhost:9000/']] as const) {
      const created = await on.identityProviders.create({ ...ACME, slug: 'loopback', issuer });
      expect(created.issuer).toBe(issuer);
      await on.identityProviders.delete('loopback');
    }
  });

  it('updates the fields given (a new secret sealed again), keeps the rest, and refuses bad ones', async () => {
    const before = await testDb.db.prisma.identityProvider.findUniqueOrThrow({ where: { slug: 'acme-sso' } });
    const updated = await services.identityProviders.update('acme-sso', { name: 'Acme Login', scope: 'openid email', clientSecret: 'rotated-secret', enabled: false });
    expect(updated).toMatchObject({ slug: 'acme-sso', name: 'Acme Login', scope: 'openid email', enabled: false, issuer: ACME.issuer, clientId: ACME.clientId });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
    expect(await services.identityProviders.clientSecretOf(updated)).toBe('rotated-secret');
    expect((await services.identityProviders.listEnabled()).map((idp) => idp.slug)).toEqual(['gh']);
    await services.identityProviders.update('acme-sso', { enabled: true, name: 'Acme SSO' });

    const cases: { slug: string; patch: Record<string, unknown>; code: ErrorCode; field?: string }[] = [
      { slug: 'acme-sso', patch: { name: '' }, code: 'invalid_input', field: 'name' },
      { slug: 'acme-sso', patch: { issuer: 'not a url' }, code: 'invalid_input', field: 'issuer' },
      { slug: 'acme-sso', patch: { clientSecret: '' }, code: 'invalid_input', field: 'client_secret' },
      { slug: 'acme-sso', patch: { scope: 'profile' }, code: 'invalid_input', field: 'scope' },
      { slug: 'nope', patch: { name: 'x' }, code: 'not_found' },
      { slug: 'NUL\u0000', patch: { name: 'x' }, code: 'not_found' },
    ];
    for (const { slug, patch, code, field } of cases) {
      const error = await codeOf(services.identityProviders.update(slug, patch));
      expect(error?.code, JSON.stringify(patch)).toBe(code);
      if (field) expect(error?.field).toBe(field);
    }
    // A github provider's scope needs no openid.
    expect(await services.identityProviders.update('gh', { scope: 'read:user' })).toMatchObject({ scope: 'read:user' });
    expect(await services.identityProviders.findBySlug('acme-sso')).toMatchObject({ name: 'Acme SSO', scope: 'openid email', enabled: true });
  });
});

describe('federated accounts and links', () => {
  it('creates an account without a password; password sign-in fails for it like a wrong password', async () => {
    const account = await services.accounts.createFederated({ email: ' Fed@Example.COM ', emailVerified: true, name: 'Fed Person', picture: 'https://cdn.acme.example/fed.png' });
    expect(account).toMatchObject({ email: 'fed@example.com', emailVerified: true, name: 'Fed Person', picture: 'https://cdn.acme.example/fed.png' });
    expect(await services.accounts.hasPassword(account.id)).toBe(false);
    expect((await testDb.db.prisma.account.findUniqueOrThrow({ where: { id: account.id } })).passwordHash).toBeNull();
    for (const password of ['', 'anything at all', 'x'.repeat(300)]) {
      expect(await services.accounts.authenticate('fed@example.com', password)).toBeUndefined();
    }
    // Unverified upstream email: stored unverified; unfit name and picture dropped, not refused.
    const other = await services.accounts.createFederated({ email: 'unverified@example.com', emailVerified: false, name: 'bad\u0000name', picture: 'javascript:alert(1)' });
    expect(other).toMatchObject({ emailVerified: false, name: null, picture: null });
    expect(await services.accounts.hasPassword(other.id)).toBe(false);
    // The email is unique as at sign-up, whoever holds it.
    expect((await codeOf(services.accounts.createFederated({ email: 'FED@example.com', emailVerified: true })))?.code).toBe('already_exists');
    expect((await codeOf(services.accounts.createFederated({ email: 'not-an-email', emailVerified: true })))?.field).toBe('email');
  });

  it('a password set later (the reset flow) lets it sign in with the password', async () => {
    await services.accounts.setPassword('fed@example.com', 'a fresh federated password');
    const fed = await services.accounts.authenticate('fed@example.com', 'a fresh federated password');
    expect(fed).toMatchObject({ email: 'fed@example.com' });
    expect(await services.accounts.hasPassword(fed!.id)).toBe(true);
    expect(await services.accounts.hasPassword('00000000-0000-0000-0000-000000000000')).toBe(false);
  });

  it('updates the profile from the upstream: name and picture replaced, email only verified and free', async () => {
    const fed = (await services.accounts.findByEmail('fed@example.com'))!;
    await services.accounts.create({ email: 'taken@example.com', password: 'a password that is long' });
    const cases: { profile: Parameters<Services['accounts']['updateProfileFromUpstream']>[1]; expected: Record<string, unknown> }[] = [
      { profile: { name: 'Fed Renamed', picture: 'https://cdn.acme.example/new.png' }, expected: { name: 'Fed Renamed', picture: 'https://cdn.acme.example/new.png', email: 'fed@example.com' } },
      { profile: { name: null, picture: 'not a url' }, expected: { name: 'Fed Renamed', picture: 'https://cdn.acme.example/new.png' } },
      { profile: { email: 'moved@example.com', emailVerified: false }, expected: { email: 'fed@example.com' } },
      { profile: { email: 'taken@example.com', emailVerified: true }, expected: { email: 'fed@example.com' } },
      { profile: { email: 'Moved@Example.com', emailVerified: true }, expected: { email: 'moved@example.com', emailVerified: true } },
    ];
    for (const { profile, expected } of cases) {
      expect(await services.accounts.updateProfileFromUpstream(fed.id, profile), JSON.stringify(profile)).toMatchObject(expected);
    }
    // The same address, verified upstream, marks the account's verified.
    const unverified = (await services.accounts.findByEmail('unverified@example.com'))!;
    expect(await services.accounts.updateProfileFromUpstream(unverified.id, { email: 'unverified@example.com', emailVerified: true })).toMatchObject({ emailVerified: true });
    expect((await codeOf(services.accounts.updateProfileFromUpstream('00000000-0000-0000-0000-000000000000', { name: 'x' })))?.code).toBe('not_found');
  });

  it('links an upstream identity to one account only, touches it, lists it with its provider, and unlinks it', async () => {
    const acme = (await services.identityProviders.findBySlug('acme-sso'))!;
    const gh = (await services.identityProviders.findBySlug('gh'))!;
    const fed = (await services.accounts.findByEmail('moved@example.com'))!;
    const taken = (await services.accounts.findByEmail('taken@example.com'))!;
    const links = services.federatedIdentities;

    expect(await links.find(acme.id, 'sub-1')).toBeUndefined();
    await links.link({ providerId: acme.id, subject: 'sub-1', accountId: fed.id, email: 'Moved@Example.com', now: NOW });
    expect(await links.find(acme.id, 'sub-1')).toEqual({ accountId: fed.id, email: 'moved@example.com' });
    // Linking again to the same account is no error; to another one it is.
    await links.link({ providerId: acme.id, subject: 'sub-1', accountId: fed.id, email: null, now: NOW });
    const conflict = await codeOf(links.link({ providerId: acme.id, subject: 'sub-1', accountId: taken.id, email: null, now: NOW }));
    expect(conflict?.code).toBe('already_linked');
    expect(await links.find(acme.id, 'sub-1')).toEqual({ accountId: fed.id, email: null });
    // The same subject at another provider is another identity.
    await links.link({ providerId: gh.id, subject: 'sub-1', accountId: taken.id, email: 'gh@example.com', now: NOW });

    const later = new Date(NOW.getTime() + 60_000);
    await links.touch(acme.id, 'sub-1', 'upstream@example.com', later);
    expect(await links.listForAccount(fed.id)).toEqual([
      { providerId: acme.id, slug: 'acme-sso', name: 'Acme SSO', subject: 'sub-1', email: 'upstream@example.com', createdAt: NOW, lastUsedAt: later },
    ]);
    expect(await links.countForAccount(taken.id)).toBe(1);

    // Values no upstream should send, and no database should be handed, are refused or not found, never a 500.
    for (const subject of ['', 'nul\u0000', 's'.repeat(256), '\ud800']) {
      expect((await codeOf(links.link({ providerId: acme.id, subject, accountId: fed.id, email: null, now: NOW })))?.code, JSON.stringify(subject)).toBe('invalid_input');
      expect(await links.find(acme.id, subject)).toBeUndefined();
    }
    await links.link({ providerId: acme.id, subject: 'sub-bad-email', accountId: fed.id, email: 'bad\u0000@example.com', now: NOW });
    expect(await links.find(acme.id, 'sub-bad-email')).toEqual({ accountId: fed.id, email: null });

    expect(await links.unlink(fed.id, acme.id)).toBe(true);
    expect(await links.unlink(fed.id, acme.id)).toBe(false);
    expect(await links.unlink(fed.id, 'not\u0000an-id')).toBe(false);
    expect(await links.listForAccount(fed.id)).toEqual([]);
  });

  it('deleting a provider deletes its links; deleting an account deletes its links', async () => {
    const acme = (await services.identityProviders.findBySlug('acme-sso'))!;
    const gh = (await services.identityProviders.findBySlug('gh'))!;
    const fed = (await services.accounts.findByEmail('moved@example.com'))!;
    await services.federatedIdentities.link({ providerId: acme.id, subject: 'a', accountId: fed.id, email: null, now: NOW });
    await services.federatedIdentities.link({ providerId: gh.id, subject: 'b', accountId: fed.id, email: null, now: NOW });

    await services.identityProviders.delete('acme-sso');
    expect(await services.identityProviders.findBySlug('acme-sso')).toBeUndefined();
    expect(await testDb.db.prisma.federatedIdentity.count({ where: { providerId: acme.id } })).toBe(0);
    expect((await codeOf(services.identityProviders.delete('acme-sso')))?.code).toBe('not_found');
    expect((await codeOf(services.identityProviders.clientSecretOf(acme)))?.code).toBe('not_found');

    expect(await services.accounts.delete(fed.id)).toBe(true);
    expect(await testDb.db.prisma.federatedIdentity.count({ where: { accountId: fed.id } })).toBe(0);
    // Another account's link through the same provider stays.
    expect(await testDb.db.prisma.federatedIdentity.count({ where: { providerId: gh.id } })).toBe(1);
  });
});

describe('moving the client secrets to a new master secret (secret rotate)', () => {
  it('re-seals each one the previous secret opens, refuses all when one opens with neither, and is harmless to run again', async () => {
    await services.identityProviders.create({ ...ACME, slug: 'rotated' });
    const sealed = async () => (await testDb.db.prisma.identityProvider.findMany({ orderBy: { slug: 'asc' } })).map((row) => row.sealedClientSecret);
    const before = await sealed();
    const NEXT = randomBytes(32).toString('base64url');
    const next = createServices({ config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: testDb.url, LATCHKEY_SECRET: NEXT }), db: testDb.db });

    const refused = await codeOf(next.identityProviders.resealSecrets(createIdpSecretSealer(randomBytes(32).toString('base64url'))));
    expect(refused?.code).toBe('key_unavailable');
    expect(await sealed()).toEqual(before);

    expect(await next.identityProviders.resealSecrets(createIdpSecretSealer(SECRET))).toEqual({ resealed: before.length, alreadyCurrent: 0 });
    expect(await next.identityProviders.clientSecretOf((await next.identityProviders.findBySlug('rotated'))!)).toBe(ACME.clientSecret);
    expect((await codeOf(services.identityProviders.clientSecretOf((await services.identityProviders.findBySlug('rotated'))!)))?.code).toBe('key_unavailable');
    expect(await next.identityProviders.resealSecrets(createIdpSecretSealer(SECRET))).toEqual({ resealed: 0, alreadyCurrent: before.length });
  });
});

describe('migration 20261206200000_federation', () => {
  it('keeps every index on Account, the email prefix index included', async () => {
    const names = testDialect() === 'postgres'
      ? (await testDb.db.prisma.$queryRawUnsafe<{ name: string }[]>(`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'Account'`)).map((row) => row.name)
      : (await testDb.db.prisma.$queryRawUnsafe<{ name: string }[]>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Account'`)).map((row) => row.name);
    expect(names).toEqual(expect.arrayContaining(['Account_email_key', 'Account_email_prefix_idx']));
    if (testDialect() === 'sqlite') {
      const sql = (await testDb.db.prisma.$queryRawUnsafe<{ sql: string }[]>(`SELECT sql FROM sqlite_master WHERE name = 'Account_email_prefix_idx'`))[0]!.sql;
      expect(sql).toContain('COLLATE NOCASE');
    }
    // The unique email still holds after the rebuild.
    await services.accounts.create({ email: 'unique@example.com', password: 'a password that is long' });
    expect((await codeOf(services.accounts.createFederated({ email: 'UNIQUE@example.com', emailVerified: true })))?.code).toBe('already_exists');
  });
});
