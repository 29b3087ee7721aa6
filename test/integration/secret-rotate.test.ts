// Moving an install to a new LATCHKEY_SECRET (say, off a passphrase the
// stricter rule now refuses): `LATCHKEY_SECRET=<new> latchkey secret rotate
// --old-secret-stdin` re-seals every signing and cookie key (and every
// upstream identity provider's client secret), after which a
// server starts on the new secret with the same keys (same kids in JWKS,
// tokens signed before still verify). A wrong previous secret changes
// nothing; running it again is harmless.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityProviderRepository } from '../../src/federation/identity-provider-repository.ts';
import { createIdentityProviderService, createIdpSecretSealer } from '../../src/federation/identity-provider-service.ts';
import { createKeyRepository } from '../../src/keys/key-repository.ts';
import { createKeyService } from '../../src/keys/key-service.ts';
import { createSealer } from '../../src/keys/sealing.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer } from '../helpers/server.ts';

// What the old rule let through: long enough, but words.
const OLD_SECRET = 'our-latchkey-production-secret-2025';
const NEW_SECRET = randomBytes(32).toString('base64url');
const UPSTREAM_SECRET = 'acme-upstream-client-secret';

let database: TestDatabase;
let kidsBefore: string[];
let sealedBefore: string[];

const sealedRows = async () => [
  ...(await database.db.prisma.signingKey.findMany({ orderBy: { kid: 'asc' } })).map((row) => row.sealedPrivate),
  ...(await database.db.prisma.cookieKey.findMany({ orderBy: { id: 'asc' } })).map((row) => row.sealedValue),
];
const sealedIdpSecret = async () => (await database.db.prisma.identityProvider.findUniqueOrThrow({ where: { slug: 'acme-sso' } })).sealedClientSecret;
let idpSealedBefore: string;

const rotate = (previous: string) =>
  runCli(['secret', 'rotate', '--old-secret-stdin', '--json'], { env: { DATABASE_URL: database.url, LATCHKEY_SECRET: NEW_SECRET }, input: `${previous}\n` });

beforeAll(async () => {
  database = await createTestDatabase();
  // An install whose keys were sealed under the old secret.
  const keys = createKeyService({ keys: createKeyRepository(database.db.prisma, database.db.dialect), sealer: createSealer(OLD_SECRET) });
  await keys.ensureKeys();
  kidsBefore = (await keys.publicJwks()).keys.map((key) => key.kid!).sort();
  sealedBefore = await sealedRows();
  // And an upstream identity provider whose client secret was sealed under it.
  const idps = createIdentityProviderService({ repository: createIdentityProviderRepository(database.db.prisma), sealer: () => createIdpSecretSealer(OLD_SECRET), config: { env: 'test' } });
  await idps.create({ name: 'Acme SSO', issuer: 'https://sso.acme.example', clientId: 'latchkey', clientSecret: UPSTREAM_SECRET });
  idpSealedBefore = await sealedIdpSecret();
});

afterAll(async () => {
  await database?.drop();
});

describe('latchkey secret rotate', () => {
  it('refuses a wrong previous secret and changes nothing', async () => {
    const result = await rotate(randomBytes(32).toString('base64url'));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('key_unavailable');
    expect(await sealedRows()).toEqual(sealedBefore);
    expect(await sealedIdpSecret()).toBe(idpSealedBefore);
  });

  it('re-seals every key under the new secret; a server then starts on it with the same keys', async () => {
    const result = await rotate(OLD_SECRET);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({ resealed: sealedBefore.length, alreadyCurrent: 0, identityProviders: { resealed: 1, alreadyCurrent: 0 } });
    expect(result.stdout).not.toContain(OLD_SECRET);
    expect(result.stdout).not.toContain(UPSTREAM_SECRET);
    expect(await sealedIdpSecret()).not.toBe(idpSealedBefore);

    const server = await startTestServer({ database, env: { LATCHKEY_SECRET: NEW_SECRET } });
    try {
      const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid).sort()).toEqual(kidsBefore);
      const events = await server.services.audit.list({ types: ['secret.rotated'] });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: 'cli', details: { resealed: sealedBefore.length, alreadyCurrent: 0, idpSecretsResealed: 1 } });
      // The server's own services open the upstream secret under the new master secret.
      const acme = (await server.services.identityProviders.findBySlug('acme-sso'))!;
      expect(await server.services.identityProviders.clientSecretOf(acme)).toBe(UPSTREAM_SECRET);
    } finally {
      await server.stop();
    }
  });

  it('is harmless to run again', async () => {
    const result = await rotate(OLD_SECRET);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ resealed: 0, alreadyCurrent: sealedBefore.length, identityProviders: { resealed: 0, alreadyCurrent: 1 } });
  });

  it('needs --old-secret-stdin', async () => {
    const result = await runCli(['secret', 'rotate', '--json'], { env: { DATABASE_URL: database.url, LATCHKEY_SECRET: NEW_SECRET } });
    expect(result.code).toBe(2);
  });
});
