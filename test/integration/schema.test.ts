// The database our committed migrations build matches prisma/models.prisma:
// every model written and read back through the generated client, with the
// defaults, nullable columns, DateTimes, keys and unique constraints the
// rest of Latchkey relies on, on the dialect under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = database.db.prisma;
});

afterAll(async () => {
  await database?.drop();
});

// Millisecond precision (TIMESTAMP(3) on PostgreSQL), across the epoch,
// Y2K, the 32-bit time_t limit and far ahead.
const INSTANTS = ['1970-01-01T00:00:00.001Z', '1999-12-31T23:59:59.999Z', '2038-01-19T03:14:08.123Z', '2999-06-15T12:00:00.500Z'].map((iso) => new Date(iso));

describe('the migrated schema, through the generated client', () => {
  it('stores an Account with its defaults, and a nullable name both ways', async () => {
    const before = Date.now() - 1000;
    const created = await prisma.account.create({ data: { id: 'acc-1', email: 'ada@example.com', passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA' } });

    expect(await prisma.account.findUniqueOrThrow({ where: { id: 'acc-1' } })).toEqual(created);
    expect(created).toMatchObject({ email: 'ada@example.com', emailVerified: false, disabled: false, name: null });
    expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(created.updatedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(await prisma.account.findUnique({ where: { email: 'ada@example.com' } })).toEqual(created);

    const named = await prisma.account.update({ where: { id: 'acc-1' }, data: { name: 'Ada Lovelace', emailVerified: true, disabled: true } });
    expect(await prisma.account.findUniqueOrThrow({ where: { id: 'acc-1' } })).toEqual(named);
    expect(named).toMatchObject({ name: 'Ada Lovelace', emailVerified: true, disabled: true });
    expect(named.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());

    await prisma.account.update({ where: { id: 'acc-1' }, data: { name: null } });
    expect((await prisma.account.findUniqueOrThrow({ where: { id: 'acc-1' } })).name).toBeNull();
  });

  it('stores a public Client without a secret and a confidential one with its digest', async () => {
    const metadata = JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'none' });
    const rows = [
      { id: 'public-app', name: 'Public app', secretHash: null, metadata },
      { id: 'service', name: 'Service', secretHash: 'a'.repeat(64), metadata: '{"grant_types":["client_credentials"]}' },
    ];
    for (const data of rows) {
      const created = await prisma.client.create({ data });
      expect(created).toMatchObject(data);
      expect(await prisma.client.findUniqueOrThrow({ where: { id: data.id } })).toEqual(created);
    }
    expect(JSON.parse((await prisma.client.findUniqueOrThrow({ where: { id: 'public-app' } })).metadata)).toEqual(JSON.parse(metadata));
  });

  it('stores an ApiResource with its default signing algorithm and a full 32-bit TTL', async () => {
    const created = await prisma.apiResource.create({
      data: { id: 'res-1', identifier: 'https://api.example.com/orders', scopes: 'orders:read orders:write', accessTokenTtl: 2_147_483_647 },
    });
    expect(created).toMatchObject({ signingAlg: 'ES256', accessTokenTtl: 2_147_483_647 });
    expect(await prisma.apiResource.findUniqueOrThrow({ where: { identifier: 'https://api.example.com/orders' } })).toEqual(created);

    const ps256 = await prisma.apiResource.create({ data: { id: 'res-2', identifier: 'https://api.example.com/billing', scopes: 'billing', accessTokenTtl: 60, signingAlg: 'PS256' } });
    expect(await prisma.apiResource.findUniqueOrThrow({ where: { id: 'res-2' } })).toEqual(ps256);
  });

  it('stores SigningKeys in every state, with activatesAt and retiredAt nullable, and finds them by state', async () => {
    const keys = [
      { kid: 'k-published', state: 'published', activatesAt: INSTANTS[3]!, retiredAt: null },
      { kid: 'k-active', state: 'active', activatesAt: INSTANTS[1]!, retiredAt: null },
      { kid: 'k-retired', state: 'retired', activatesAt: INSTANTS[0]!, retiredAt: INSTANTS[2]! },
      { kid: 'k-bare', state: 'active', activatesAt: null, retiredAt: null },
    ];
    for (const key of keys) {
      const data = { ...key, alg: 'ES256', publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid: key.kid }), sealedPrivate: `v1.${key.kid}.sealed` };
      const created = await prisma.signingKey.create({ data });
      expect(created).toMatchObject(data);
      expect(await prisma.signingKey.findUniqueOrThrow({ where: { kid: key.kid } })).toEqual(created);
    }
    const active = await prisma.signingKey.findMany({ where: { state: 'active' }, orderBy: { kid: 'asc' } });
    expect(active.map((k) => k.kid)).toEqual(['k-active', 'k-bare']);
  });

  it('stores a CookieKey', async () => {
    const created = await prisma.cookieKey.create({ data: { id: 'cookie-1', sealedValue: 'v1.iv.ciphertext.tag' } });
    expect(await prisma.cookieKey.findUniqueOrThrow({ where: { id: 'cookie-1' } })).toEqual(created);
  });

  it('keys OidcArtifact by (model, id) and finds artifacts by every indexed column', async () => {
    const artifacts = [
      { model: 'Session', id: 'same-id', payload: '{"accountId":"acc-1"}', grantId: null, accountId: 'acc-1', uid: 'uid-1', userCode: null, expiresAt: INSTANTS[3]!, consumedAt: null, sealedForPredecessor: null },
      { model: 'Grant', id: 'same-id', payload: '{"accountId":"acc-1"}', grantId: null, accountId: 'acc-1', uid: null, userCode: null, expiresAt: null, consumedAt: null, sealedForPredecessor: null },
      { model: 'AuthorizationCode', id: 'code-1', payload: '{}', grantId: 'grant-1', accountId: null, uid: null, userCode: null, expiresAt: INSTANTS[2]!, consumedAt: INSTANTS[1]!, sealedForPredecessor: 'b1.iv.ciphertext.tag' },
      { model: 'RefreshToken', id: 'rt-1', payload: '{}', grantId: 'grant-1', accountId: null, uid: null, userCode: null, expiresAt: INSTANTS[3]!, consumedAt: null, sealedForPredecessor: null },
      { model: 'DeviceCode', id: 'dc-1', payload: '{}', grantId: null, accountId: null, uid: null, userCode: 'WDJB-MJHT', expiresAt: INSTANTS[0]!, consumedAt: null, sealedForPredecessor: null },
    ];
    for (const data of artifacts) await prisma.oidcArtifact.create({ data });

    // The same id under two models is two artifacts.
    for (const data of artifacts) {
      expect(await prisma.oidcArtifact.findUnique({ where: { model_id: { model: data.model, id: data.id } } })).toEqual(data);
    }
    const ids = (rows: { model: string; id: string }[]) => rows.map((r) => `${r.model}/${r.id}`).sort();
    expect(ids(await prisma.oidcArtifact.findMany({ where: { grantId: 'grant-1' } }))).toEqual(['AuthorizationCode/code-1', 'RefreshToken/rt-1']);
    expect(ids(await prisma.oidcArtifact.findMany({ where: { accountId: 'acc-1' } }))).toEqual(['Grant/same-id', 'Session/same-id']);
    expect(ids(await prisma.oidcArtifact.findMany({ where: { uid: 'uid-1' } }))).toEqual(['Session/same-id']);
    expect(ids(await prisma.oidcArtifact.findMany({ where: { userCode: 'WDJB-MJHT' } }))).toEqual(['DeviceCode/dc-1']);
    expect(ids(await prisma.oidcArtifact.findMany({ where: { expiresAt: null } }))).toEqual(['Grant/same-id']);

    // Revoking a grant deletes everything issued under it, and only that.
    expect((await prisma.oidcArtifact.deleteMany({ where: { grantId: 'grant-1' } })).count).toBe(2);
    expect(await prisma.oidcArtifact.count()).toBe(3);
  });

  it('round-trips DateTimes to the millisecond and compares them in time order', async () => {
    // Shuffled, so the order below comes from the database, not insertion.
    const order = [2, 0, 3, 1];
    for (const i of order) {
      await prisma.oidcArtifact.create({ data: { model: 'Timing', id: `t${i}`, payload: '{}', expiresAt: INSTANTS[i]!, consumedAt: INSTANTS[i]! } });
    }
    for (const [i, instant] of INSTANTS.entries()) {
      const row = await prisma.oidcArtifact.findUniqueOrThrow({ where: { model_id: { model: 'Timing', id: `t${i}` } } });
      expect(row.expiresAt?.toISOString()).toBe(instant.toISOString());
      expect(row.consumedAt?.toISOString()).toBe(instant.toISOString());
    }
    const sorted = await prisma.oidcArtifact.findMany({ where: { model: 'Timing' }, orderBy: { expiresAt: 'asc' } });
    expect(sorted.map((r) => r.id)).toEqual(['t0', 't1', 't2', 't3']);
    // What expiry sweeps ask: expired before a given instant.
    const expired = await prisma.oidcArtifact.findMany({ where: { model: 'Timing', expiresAt: { lt: new Date('2038-01-19T03:14:08.123Z') } }, orderBy: { id: 'asc' } });
    expect(expired.map((r) => r.id)).toEqual(['t0', 't1']);
    const exact = await prisma.oidcArtifact.findMany({ where: { model: 'Timing', expiresAt: { gte: INSTANTS[2]!, lte: INSTANTS[2]! } } });
    expect(exact.map((r) => r.id)).toEqual(['t2']);
  });

  it('enforces every unique key with P2002, and only on exact duplicates', async () => {
    const cases: { name: string; model: string; first: () => Promise<unknown>; duplicate: () => Promise<unknown> }[] = [
      {
        name: 'Account.email',
        model: 'Account',
        first: () => prisma.account.create({ data: { id: 'u-1', email: 'dup@example.com', passwordHash: 'h' } }),
        duplicate: () => prisma.account.create({ data: { id: 'u-2', email: 'dup@example.com', passwordHash: 'h' } }),
      },
      {
        name: 'Account.id',
        model: 'Account',
        first: () => prisma.account.create({ data: { id: 'u-3', email: 'three@example.com', passwordHash: 'h' } }),
        duplicate: () => prisma.account.create({ data: { id: 'u-3', email: 'other@example.com', passwordHash: 'h' } }),
      },
      {
        name: 'ApiResource.identifier',
        model: 'ApiResource',
        first: () => prisma.apiResource.create({ data: { id: 'r-1', identifier: 'https://dup.example.com', scopes: 'a', accessTokenTtl: 60 } }),
        duplicate: () => prisma.apiResource.create({ data: { id: 'r-2', identifier: 'https://dup.example.com', scopes: 'b', accessTokenTtl: 60 } }),
      },
      {
        name: 'Client.id',
        model: 'Client',
        first: () => prisma.client.create({ data: { id: 'c-dup', name: 'one', metadata: '{}' } }),
        duplicate: () => prisma.client.create({ data: { id: 'c-dup', name: 'two', metadata: '{}' } }),
      },
      {
        name: 'SigningKey.kid',
        model: 'SigningKey',
        first: () => prisma.signingKey.create({ data: { kid: 'kid-dup', alg: 'ES256', publicJwk: '{}', sealedPrivate: 's', state: 'active' } }),
        duplicate: () => prisma.signingKey.create({ data: { kid: 'kid-dup', alg: 'PS256', publicJwk: '{}', sealedPrivate: 's', state: 'published' } }),
      },
      {
        name: 'CookieKey.id',
        model: 'CookieKey',
        first: () => prisma.cookieKey.create({ data: { id: 'ck-dup', sealedValue: 'a' } }),
        duplicate: () => prisma.cookieKey.create({ data: { id: 'ck-dup', sealedValue: 'b' } }),
      },
      {
        name: 'OidcArtifact (model, id)',
        model: 'OidcArtifact',
        first: () => prisma.oidcArtifact.create({ data: { model: 'Session', id: 'dup', payload: '{}' } }),
        duplicate: () => prisma.oidcArtifact.create({ data: { model: 'Session', id: 'dup', payload: '{"other":true}' } }),
      },
    ];
    for (const c of cases) {
      await c.first();
      const error = await c.duplicate().then(
        () => undefined,
        (e: unknown) => e as { code?: string; meta?: { modelName?: string } },
      );
      expect(error?.code, c.name).toBe('P2002');
      expect(error?.meta?.modelName, c.name).toBe(c.model);
    }

    // Near misses are not duplicates: emails compare exactly (the account
    // service stores them normalised), and artifact ids are per model.
    await expect(prisma.account.create({ data: { id: 'u-4', email: 'Dup@example.com', passwordHash: 'h' } })).resolves.toMatchObject({ id: 'u-4' });
    await expect(prisma.oidcArtifact.create({ data: { model: 'Grant', id: 'dup', payload: '{}' } })).resolves.toMatchObject({ model: 'Grant', id: 'dup' });
  });

  it('fills column defaults for rows written outside the client', async () => {
    // CLI scripts or operators may insert by hand; the migration's own
    // defaults must then give values the client can read.
    await prisma.$executeRawUnsafe(`INSERT INTO "Account" ("id", "email", "passwordHash", "updatedAt") VALUES ('raw-1', 'raw@example.com', 'h', CURRENT_TIMESTAMP)`);
    await prisma.$executeRawUnsafe(`INSERT INTO "ApiResource" ("id", "identifier", "scopes", "accessTokenTtl", "updatedAt") VALUES ('raw-r', 'https://raw.example.com', 's', 60, CURRENT_TIMESTAMP)`);
    const account = await prisma.account.findUniqueOrThrow({ where: { id: 'raw-1' } });
    expect(account).toMatchObject({ emailVerified: false, disabled: false, name: null });
    // PostgreSQL's CURRENT_TIMESTAMP into a TIMESTAMP column is the session's
    // local time while the client reads it as UTC: right only on a UTC server,
    // so allow any zone's offset here; it still has to be a readable instant.
    expect(Math.abs(account.createdAt.getTime() - Date.now())).toBeLessThan(15 * 3600_000);
    expect((await prisma.apiResource.findUniqueOrThrow({ where: { id: 'raw-r' } })).signingAlg).toBe('ES256');
  });
});
