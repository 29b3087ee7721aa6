import { spawn } from 'node:child_process';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { KeyUnavailableError } from '../../src/errors.ts';
import { createKeyRepository, type KeyRepository, type NewSigningKey } from '../../src/keys/key-repository.ts';
import { createKeyService, SIGNING_ALGS, type KeyService } from '../../src/keys/key-service.ts';
import { createSealer, type Sealer } from '../../src/keys/sealing.ts';
import { packageRoot } from '../../src/paths.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';

const SECRET = 'integration-test-master-secret-0123456789abcdef';
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

let testDb: TestDatabase;
const extraConnections: Database[] = [];

beforeEach(async () => {
  testDb = await createTestDatabase();
});
afterEach(async () => {
  for (const db of extraConnections.splice(0)) await db.close();
  await testDb.drop();
});

function service(db: Database = testDb.db, options: { sealer?: Sealer; now?: () => Date; slowInsideLock?: boolean } = {}): KeyService {
  const repository = createKeyRepository(db.prisma, db.dialect);
  return createKeyService({
    keys: options.slowInsideLock ? slowInsideLock(repository) : repository,
    sealer: options.sealer ?? createSealer(SECRET),
    ...(options.now ? { now: options.now } : {}),
  });
}

/**
 * The same repository, but a read made under the key-set lock returns only
 * after a pause: long enough that racing ensureKeys calls would both decide
 * "missing" and both insert, were the lock not doing its job.
 */
function slowInsideLock(repository: KeyRepository): KeyRepository {
  return {
    ...repository,
    withKeySetLock: (work) =>
      repository.withKeySetLock((locked) =>
        work({
          ...locked,
          async findSigningKeysInStates(states) {
            const rows = await locked.findSigningKeysInStates(states);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            return rows;
          },
        }),
      ),
  };
}

async function secondConnection(): Promise<Database> {
  const db = await openDatabase(testDb.config, { poolSize: 2 });
  extraConnections.push(db);
  return db;
}

const snapshot = async (db: Database = testDb.db) => ({
  signing: await db.prisma.signingKey.findMany({ orderBy: { kid: 'asc' } }),
  cookies: await db.prisma.cookieKey.findMany({ orderBy: { id: 'asc' } }),
});

/** Every member name anywhere in a JSON value. */
function memberNames(value: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => memberNames(item, names));
  else if (value && typeof value === 'object') {
    for (const [name, child] of Object.entries(value)) {
      names.add(name);
      memberNames(child, names);
    }
  }
  return names;
}

async function expectKeyUnavailable(run: () => Promise<unknown>): Promise<KeyUnavailableError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyUnavailableError);
  expect((caught as KeyUnavailableError).code).toBe('key_unavailable');
  return caught as KeyUnavailableError;
}

/** A signing key row built the way the service builds one, for states the service does not create yet. */
async function makeSigningKey(sealer: Sealer, fields: { state: string; createdAt: Date; activatesAt?: Date | null }): Promise<NewSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    alg: 'ES256',
    publicJwk: JSON.stringify({ ...publicJwk, ...meta }),
    sealedPrivate: sealer.seal(JSON.stringify({ ...(await exportJWK(privateKey)), ...meta }), `signing-key:${kid}`),
    state: fields.state,
    activatesAt: fields.activatesAt ?? null,
    createdAt: fields.createdAt,
  };
}

describe(`keys (${testDialect()})`, () => {
  it('creates one active key per algorithm and two cookie keys, and a second ensureKeys changes nothing', async () => {
    const keys = service();
    await keys.ensureKeys();
    const first = await snapshot();

    expect(first.signing.map((row) => row.alg).sort()).toEqual([...SIGNING_ALGS].sort());
    expect(first.signing.every((row) => row.state === 'active' && row.activatesAt === null && row.retiredAt === null)).toBe(true);
    expect(first.cookies).toHaveLength(2);

    await keys.ensureKeys();
    await service().ensureKeys();
    expect(await snapshot()).toEqual(first);

    const listed = await keys.list();
    expect(listed.map((key) => key.kid).sort()).toEqual(first.signing.map((row) => row.kid).sort());
    for (const key of listed) {
      expect(Object.keys(key).sort()).toEqual(['activatesAt', 'alg', 'createdAt', 'kid', 'retiredAt', 'state']);
      expect(key.state).toBe('active');
    }
  });

  it('keeps the same keys across a reopened database and a new process-like service', async () => {
    const before = service();
    await before.ensureKeys();
    const jwks = await before.signingJwks();
    const cookies = await before.cookieKeys();
    await testDb.db.close();

    const reopened = await openDatabase(testDb.config);
    extraConnections.push(reopened);
    const after = service(reopened);
    await after.ensureKeys();
    expect(await after.signingJwks()).toEqual(jwks);
    expect(await after.cookieKeys()).toEqual(cookies);
    expect((await snapshot(reopened)).signing).toHaveLength(SIGNING_ALGS.length);
  });

  it('stores private keys and cookie keys only sealed', async () => {
    const keys = service();
    await keys.ensureKeys();
    const { signing, cookies } = await snapshot();
    const privateJwks = (await keys.signingJwks()).keys;

    for (const row of signing) {
      expect(row.sealedPrivate).toMatch(/^v1\./);
      const jwk = privateJwks.find((key) => key.kid === row.kid)!;
      for (const member of PRIVATE_MEMBERS) {
        const value = (jwk as Record<string, unknown>)[member];
        if (typeof value === 'string') {
          expect(row.sealedPrivate).not.toContain(value);
          expect(row.publicJwk).not.toContain(value);
        }
      }
      expect(typeof jwk.d).toBe('string');
      expect(memberNames(JSON.parse(row.publicJwk))).not.toContain('d');
    }
    const cookieValues = await keys.cookieKeys();
    expect(cookieValues).toHaveLength(2);
    for (const value of cookieValues) {
      expect(Buffer.from(value, 'base64url').length).toBeGreaterThanOrEqual(32);
      for (const row of cookies) expect(row.sealedValue).not.toContain(value);
    }
    expect(new Set(cookieValues).size).toBe(2);
  });

  it('publishes public members only, each key with kid, alg and use', async () => {
    const keys = service();
    await keys.ensureKeys();
    const { keys: published } = await keys.publicJwks();

    const names = memberNames(published);
    for (const member of PRIVATE_MEMBERS) expect(names).not.toContain(member);
    expect(published.map((key) => key.alg)).toEqual([...SIGNING_ALGS]);
    for (const key of published) {
      expect(key.kid).toBe(await calculateJwkThumbprint(key));
      expect(key.use).toBe('sig');
      expect(key.kty).toMatch(/^(EC|RSA|OKP)$/);
    }
    expect(published.find((key) => key.alg === 'ES256')).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(published.find((key) => key.alg === 'RS256')).toMatchObject({ kty: 'RSA', e: 'AQAB' });
    expect(Buffer.from(published.find((key) => key.alg === 'RS256')!.n!, 'base64url').length).toBe(256);
    expect(published.find((key) => key.alg === 'EdDSA')).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
  });

  it('signs a JWT with each private JWK that verifies against the matching public JWK', async () => {
    const keys = service();
    await keys.ensureKeys();
    const signing = (await keys.signingJwks()).keys;
    const published = (await keys.publicJwks()).keys;
    expect(signing.map((key) => key.kid)).toEqual(published.map((key) => key.kid));

    for (const privateJwk of signing) {
      const alg = privateJwk.alg!;
      const jwt = await new SignJWT({ scope: 'read' })
        .setProtectedHeader({ alg, kid: privateJwk.kid! })
        .setIssuer('https://issuer.test')
        .setAudience('https://api.test')
        .setExpirationTime('5m')
        .sign(await importJWK(privateJwk, alg));
      const publicJwk = published.find((key) => key.kid === privateJwk.kid)!;
      const { payload, protectedHeader } = await jwtVerify(jwt, await importJWK(publicJwk, alg), {
        issuer: 'https://issuer.test',
        audience: 'https://api.test',
      });
      expect(payload.scope).toBe('read');
      expect(protectedHeader).toEqual({ alg, kid: privateJwk.kid });
      // And not against another alg's key.
      const other = published.find((key) => key.alg !== alg)!;
      await expect(jwtVerify(jwt, await importJWK(other, other.alg!))).rejects.toThrow();
    }
  });

  it('hands oidc-provider a jwks and cookie keys it accepts', async () => {
    const keys = service();
    await keys.ensureKeys();
    const provider = new Provider('https://issuer.test', {
      jwks: await keys.signingJwks(),
      cookies: { keys: await keys.cookieKeys() },
    });
    expect(provider.issuer).toBe('https://issuer.test');
  });

  it('decrypts once and serves from memory until reload()', async () => {
    const real = createSealer(SECRET);
    let opened = 0;
    const counting: Sealer = { seal: real.seal, open: (sealed, context) => (opened++, real.open(sealed, context)) };
    const keys = service(testDb.db, { sealer: counting });
    await keys.ensureKeys();
    const afterBoot = opened;
    expect(afterBoot).toBe(SIGNING_ALGS.length + 2);

    for (let i = 0; i < 5; i++) {
      await keys.signingJwks();
      await keys.publicJwks();
      await keys.cookieKeys();
    }
    expect(opened).toBe(afterBoot);

    // Callers cannot corrupt the cache through what they are handed.
    (await keys.signingJwks()).keys[0]!.kid = 'mutated';
    (await keys.cookieKeys()).length = 0;
    expect((await keys.signingJwks()).keys[0]!.kid).not.toBe('mutated');
    expect(await keys.cookieKeys()).toHaveLength(2);

    await keys.reload();
    expect(opened).toBe(afterBoot * 2);
  });

  it('orders signing keys for oidc-provider: activated before active before published, retired left out', async () => {
    const sealer = createSealer(SECRET);
    let clock = new Date('2030-01-10T00:00:00Z');
    const keys = service(testDb.db, { sealer, now: () => clock });
    await keys.ensureKeys(); // the original ES256 key, created 2030-01-10
    const original = (await keys.publicJwks()).keys[0]!.kid!;

    const repository = createKeyRepository(testDb.db.prisma, testDb.db.dialect);
    const day = (d: number) => new Date(Date.UTC(2030, 0, d));
    const activated = await makeSigningKey(sealer, { state: 'published', createdAt: day(10), activatesAt: day(12) });
    const upcoming = await makeSigningKey(sealer, { state: 'published', createdAt: day(11), activatesAt: day(20) });
    const manual = await makeSigningKey(sealer, { state: 'published', createdAt: day(11), activatesAt: null });
    const retired = await makeSigningKey(sealer, { state: 'retired', createdAt: day(1) });
    await repository.insertSigningKeys([activated, upcoming, manual, retired]);

    clock = day(13);
    await keys.reload();
    const es256 = async (jwks: Promise<{ keys: JWK[] }>) => (await jwks).keys.filter((key) => key.alg === 'ES256').map((key) => key.kid);
    expect(await es256(keys.signingJwks())).toEqual([activated.kid, original, upcoming.kid, manual.kid]);
    expect(await es256(keys.publicJwks())).toEqual([activated.kid, original, upcoming.kid, manual.kid]);
    expect((await keys.signingJwks()).keys.map((key) => key.alg)).toEqual(['ES256', 'ES256', 'ES256', 'ES256', 'RS256', 'EdDSA']);

    // Time alone promotes a published key; no reload needed.
    clock = day(21);
    expect(await es256(keys.signingJwks())).toEqual([upcoming.kid, activated.kid, original, manual.kid]);

    const states = Object.fromEntries((await keys.list()).map((key) => [key.kid, key.state]));
    expect(states).toMatchObject({ [activated.kid]: 'active', [upcoming.kid]: 'active', [manual.kid]: 'published', [retired.kid]: 'retired', [original]: 'active' });
  });

  it('replaces an algorithm whose only key is retired, and leaves the others alone', async () => {
    const keys = service();
    await keys.ensureKeys();
    const before = await snapshot();
    const eddsa = before.signing.find((row) => row.alg === 'EdDSA')!;
    await testDb.db.prisma.signingKey.update({ where: { kid: eddsa.kid }, data: { state: 'retired', retiredAt: new Date() } });

    await keys.ensureKeys();
    const after = await snapshot();
    expect(after.signing).toHaveLength(SIGNING_ALGS.length + 1);
    expect(after.cookies).toEqual(before.cookies);
    const live = (await keys.publicJwks()).keys;
    expect(live.map((key) => key.alg)).toEqual([...SIGNING_ALGS]);
    expect(live.map((key) => key.kid)).not.toContain(eddsa.kid);
  });

  it('lets one caller at a time hold the key-set lock (two connections, one process)', async () => {
    const a = createKeyRepository(testDb.db.prisma, testDb.db.dialect);
    const second = await secondConnection();
    const b = createKeyRepository(second.prisma, second.dialect);
    const events: string[] = [];
    let entered!: () => void;
    const aHoldsLock = new Promise<void>((resolve) => (entered = resolve));

    const first = a.withKeySetLock(async (locked) => {
      events.push('a:start');
      entered();
      await locked.listCookieKeys();
      await new Promise((resolve) => setTimeout(resolve, 400));
      events.push('a:end');
    });
    await aHoldsLock;
    const other = b.withKeySetLock(async () => {
      events.push('b:start');
    });
    await Promise.all([first, other]);
    expect(events).toEqual(['a:start', 'a:end', 'b:start']);
  });

  it('makes another process wait for the key-set lock', async () => {
    const holder = createKeyRepository(testDb.db.prisma, testDb.db.dialect);
    let release!: () => void;
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    let releasedAt = 0;
    const first = holder.withKeySetLock(async (locked) => {
      await locked.listCookieKeys();
      entered();
      await new Promise<void>((resolve) => (release = resolve));
      releasedAt = Date.now();
    });
    await holding;

    const child = runLockProbe(testDb.url);
    await child.ready;
    // The probe asks for the lock right after saying ready; give it ample time to get stuck.
    await new Promise((resolve) => setTimeout(resolve, 500));
    release();
    await first;
    const enteredAt = await child.enteredAt;
    expect(releasedAt).toBeGreaterThan(0);
    expect(enteredAt).toBeGreaterThanOrEqual(releasedAt);
  });

  it('agrees on one key set when two connections ensure keys at the same moment', async () => {
    for (let round = 0; round < 2; round++) {
      const round_db = round === 0 ? testDb : await createTestDatabase();
      try {
        const one = service(round_db.db, { slowInsideLock: true });
        const twoDb = await openDatabase(round_db.config, { poolSize: 2 });
        try {
          const two = service(twoDb, { slowInsideLock: true });
          await Promise.all([one.ensureKeys(), two.ensureKeys()]);
          const stored = await snapshot(round_db.db);
          expect(stored.signing).toHaveLength(SIGNING_ALGS.length);
          expect(stored.cookies).toHaveLength(2);
          expect(await two.publicJwks()).toEqual(await one.publicJwks());
          expect(await two.cookieKeys()).toEqual(await one.cookieKeys());
        } finally {
          await twoDb.close();
        }
      } finally {
        if (round_db !== testDb) await round_db.drop();
      }
    }
  });

  it('agrees on one key set when two processes boot together on a fresh database', async () => {
    const startAt = Date.now() + 2500;
    const outputs = await Promise.all([runEnsureKeys(testDb.url, startAt), runEnsureKeys(testDb.url, startAt)]);
    const [one, two] = outputs.map((output) => JSON.parse(output) as { kids: string[]; cookies: string[] });
    expect(one).toEqual(two);
    const stored = await snapshot();
    expect(stored.signing.map((row) => row.kid).sort()).toEqual([...one!.kids].sort());
    expect(stored.cookies).toHaveLength(2);
  });

  const refusals: Array<{ name: string; corrupt: (db: Database) => Promise<void>; sealer?: Sealer }> = [
    { name: 'a different master secret', corrupt: async () => {}, sealer: createSealer('a-different-master-secret-0123456789abcdef') },
    {
      name: 'a different master secret, while an algorithm lacks a live key',
      corrupt: async (db) => {
        await db.prisma.signingKey.updateMany({ where: { alg: 'EdDSA' }, data: { state: 'retired', retiredAt: new Date() } });
      },
      sealer: createSealer('a-different-master-secret-0123456789abcdef'),
    },
    {
      name: 'a sealed private key moved to another row',
      corrupt: async (db) => {
        const [a, b] = await db.prisma.signingKey.findMany();
        await db.prisma.signingKey.update({ where: { kid: a!.kid }, data: { sealedPrivate: b!.sealedPrivate } });
      },
    },
    {
      name: 'a public key swapped for another',
      corrupt: async (db) => {
        const row = (await db.prisma.signingKey.findMany({ where: { alg: 'ES256' } }))[0]!;
        const { publicKey } = await generateKeyPair('ES256');
        await db.prisma.signingKey.update({ where: { kid: row.kid }, data: { publicJwk: JSON.stringify({ ...(await exportJWK(publicKey)), kid: row.kid, alg: 'ES256', use: 'sig' }) } });
      },
    },
    {
      name: 'a kid edited',
      corrupt: async (db) => {
        const row = (await db.prisma.signingKey.findMany({ where: { alg: 'RS256' } }))[0]!;
        await db.prisma.signingKey.update({ where: { kid: row.kid }, data: { kid: `${row.kid}x` } });
      },
    },
    {
      name: 'a sealed cookie key moved to another row',
      corrupt: async (db) => {
        const [a, b] = await db.prisma.cookieKey.findMany();
        await db.prisma.cookieKey.update({ where: { id: a!.id }, data: { sealedValue: b!.sealedValue } });
      },
    },
    {
      name: 'a truncated sealed private key',
      corrupt: async (db) => {
        const row = (await db.prisma.signingKey.findMany())[0]!;
        await db.prisma.signingKey.update({ where: { kid: row.kid }, data: { sealedPrivate: row.sealedPrivate.slice(0, -4) } });
      },
    },
  ];

  it.each(refusals)('refuses to use keys after $name, without generating new ones', async ({ corrupt, sealer }) => {
    await service().ensureKeys();
    await corrupt(testDb.db);
    const before = await snapshot();
    const keys = service(testDb.db, sealer ? { sealer } : {});

    const error = await expectKeyUnavailable(() => keys.ensureKeys());
    for (const member of ['"d"', SECRET]) expect(error.message).not.toContain(member);
    await expectKeyUnavailable(() => keys.signingJwks());
    await expectKeyUnavailable(() => keys.cookieKeys());
    expect(await snapshot()).toEqual(before);
  });
});

/** Boots a separate Node process that runs ensureKeys against `url` and prints what it ended up with. */
function runEnsureKeys(url: string, startAt: number): Promise<string> {
  const src = (file: string) => JSON.stringify(path.join(packageRoot, 'src', file));
  const script = `
    import { loadConfig } from ${src('config/config.ts')};
    import { openDatabase } from ${src('db/database.ts')};
    import { createKeyRepository } from ${src('keys/key-repository.ts')};
    import { createKeyService } from ${src('keys/key-service.ts')};
    import { createSealer } from ${src('keys/sealing.ts')};
    const db = await openDatabase(loadConfig({ DATABASE_URL: ${JSON.stringify(url)} }).database, { poolSize: 2 });
    const keys = createKeyService({ keys: createKeyRepository(db.prisma, db.dialect), sealer: createSealer(${JSON.stringify(SECRET)}) });
    await db.prisma.$queryRaw\`SELECT 1\`;
    // Start-up time differs per process; line both up on the same instant.
    while (Date.now() < ${startAt});
    await keys.ensureKeys();
    const kids = (await keys.publicJwks()).keys.map((key) => key.kid);
    process.stdout.write(JSON.stringify({ kids, cookies: await keys.cookieKeys() }));
    await db.close();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: packageRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`ensureKeys process exited ${code}: ${stderr}`))));
  });
}

/** A separate process that reports when it is about to ask for the key-set lock, and when it got it. */
function runLockProbe(url: string): { ready: Promise<void>; enteredAt: Promise<number> } {
  const src = (file: string) => JSON.stringify(path.join(packageRoot, 'src', file));
  const script = `
    import { loadConfig } from ${src('config/config.ts')};
    import { openDatabase } from ${src('db/database.ts')};
    import { createKeyRepository } from ${src('keys/key-repository.ts')};
    const db = await openDatabase(loadConfig({ DATABASE_URL: ${JSON.stringify(url)} }).database, { poolSize: 2 });
    const keys = createKeyRepository(db.prisma, db.dialect);
    await db.prisma.$queryRaw\`SELECT 1\`;
    process.stdout.write('ready\\n');
    await keys.withKeySetLock(async () => process.stdout.write('entered ' + Date.now() + '\\n'));
    await db.close();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: packageRoot });
  let stdout = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (stdout.includes('ready\n')) onReady();
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const enteredAt = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const match = /entered (\d+)/.exec(stdout);
      if (code === 0 && match) resolve(Number(match[1]));
      else reject(new Error(`lock probe exited ${code}: ${stderr}`));
    });
  });
  return { ready, enteredAt };
}
