// Moving an install to a new LATCHKEY_SECRET (say, off a passphrase the
// stricter rule now refuses): `LATCHKEY_SECRET=<new> latchkey secret rotate
// --old-secret-stdin` re-seals every signing and cookie key, after which a
// server starts on the new secret with the same keys (same kids in JWKS,
// tokens signed before still verify). A wrong previous secret changes
// nothing; running it again is harmless.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRepository } from '../../src/keys/key-repository.ts';
import { createKeyService } from '../../src/keys/key-service.ts';
import { createSealer } from '../../src/keys/sealing.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer } from '../helpers/server.ts';

// What the old rule let through: long enough, but words.
const OLD_SECRET = 'our-latchkey-production-secret-2025';
const NEW_SECRET = randomBytes(32).toString('base64url');

let database: TestDatabase;
let kidsBefore: string[];
let sealedBefore: string[];

const sealedRows = async () => [
  ...(await database.db.prisma.signingKey.findMany({ orderBy: { kid: 'asc' } })).map((row) => row.sealedPrivate),
  ...(await database.db.prisma.cookieKey.findMany({ orderBy: { id: 'asc' } })).map((row) => row.sealedValue),
];

const rotate = (previous: string) =>
  runCli(['secret', 'rotate', '--old-secret-stdin', '--json'], { env: { DATABASE_URL: database.url, LATCHKEY_SECRET: NEW_SECRET }, input: `${previous}\n` });

beforeAll(async () => {
  database = await createTestDatabase();
  // An install whose keys were sealed under the old secret.
  const keys = createKeyService({ keys: createKeyRepository(database.db.prisma, database.db.dialect), sealer: createSealer(OLD_SECRET) });
  await keys.ensureKeys();
  kidsBefore = (await keys.publicJwks()).keys.map((key) => key.kid!).sort();
  sealedBefore = await sealedRows();
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
  });

  it('re-seals every key under the new secret; a server then starts on it with the same keys', async () => {
    const result = await rotate(OLD_SECRET);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({ resealed: sealedBefore.length, alreadyCurrent: 0 });
    expect(result.stdout).not.toContain(OLD_SECRET);

    const server = await startTestServer({ database, env: { LATCHKEY_SECRET: NEW_SECRET } });
    try {
      const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid).sort()).toEqual(kidsBefore);
      const events = await server.services.audit.list({ types: ['secret.rotated'] });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: 'cli', details: { resealed: sealedBefore.length, alreadyCurrent: 0 } });
    } finally {
      await server.stop();
    }
  });

  it('is harmless to run again', async () => {
    const result = await rotate(OLD_SECRET);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ resealed: 0, alreadyCurrent: sealedBefore.length });
  });

  it('needs --old-secret-stdin', async () => {
    const result = await runCli(['secret', 'rotate', '--json'], { env: { DATABASE_URL: database.url, LATCHKEY_SECRET: NEW_SECRET } });
    expect(result.code).toBe(2);
  });
});
