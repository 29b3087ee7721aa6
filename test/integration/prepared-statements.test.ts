// The hot statements beside Prisma (db/prepared-statements.ts) must read
// exactly what Prisma wrote and write exactly what Prisma reads: the same
// instants, booleans and nulls, on both dialects. Run in a time zone far
// from UTC, where a driver's local-time default would shift every instant.
process.env.TZ = 'America/New_York';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountRepository } from '../../src/accounts/account-repository.ts';
import { SQLITE_CACHE_KIB } from '../../src/db/database.ts';
import { createArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createThrottleRepository } from '../../src/throttle/throttle-repository.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe(`prepared statements and Prisma agree (${testDialect()}, TZ ${process.env.TZ})`, () => {
  it('runs prepared statements here (not only the Prisma fallback)', () => {
    expect(database.db.statements).toBeDefined();
  });

  // SQLite's page cache is per connection and ours to size; PostgreSQL's
  // shared buffers belong to the server's configuration, not to Latchkey.
  if (testDialect() === 'sqlite') {
    it('bounds the page cache on both SQLite connections (better-sqlite3 defaults to 16 MiB each)', async () => {
      const [viaPrisma] = await database.db.prisma.$queryRawUnsafe<{ cache_size: bigint | number }[]>('PRAGMA cache_size');
      const viaStatements = await database.db.statements!.get<{ cache_size: number }>('PRAGMA cache_size');
      expect(Number(viaPrisma!.cache_size)).toBe(-SQLITE_CACHE_KIB);
      expect(viaStatements).toEqual({ cache_size: -SQLITE_CACHE_KIB });
    });
  }

  it('reads an account Prisma wrote as Prisma reads it', async () => {
    const prisma = database.db.prisma;
    const written = await prisma.account.create({
      data: { id: 'acc-tz', email: 'tz@example.test', emailVerified: true, disabled: false, name: null, passwordHash: '$argon2id$x', createdAt: new Date('2031-03-09T06:59:59.123Z') },
    });
    const accounts = createAccountRepository(database.db);
    expect(await accounts.findById('acc-tz')).toEqual(written);
    expect(await accounts.findByEmail('tz@example.test')).toEqual(written);
    expect(await accounts.findById('nobody')).toBeUndefined();
  });

  it('reads throttle rows Prisma wrote, with their instants and nulls', async () => {
    const prisma = database.db.prisma;
    const blocked = await prisma.throttle.create({ data: { key: 'k-blocked', failures: 7, windowStart: new Date('2031-11-02T05:30:00.001Z'), blockedUntil: new Date('2031-11-02T06:30:00.999Z'), updatedAt: new Date('2031-11-02T05:59:00Z') } });
    const open = await prisma.throttle.create({ data: { key: 'k-open', failures: 1, windowStart: new Date('2031-06-01T00:00:00Z'), updatedAt: new Date('2031-06-01T00:00:00Z') } });
    const rows = await createThrottleRepository(database.db).findMany(['k-blocked', 'k-open', 'k-none']);
    expect(rows.sort((a, b) => a.key.localeCompare(b.key))).toEqual([blocked, open]);
  });

  it('writes artifacts that Prisma reads with the same instants, and that expire by Prisma’s comparison', async () => {
    const artifacts = createArtifactRepository(database.db);
    const expiresAt = new Date('2031-03-09T07:00:00.500Z');
    await artifacts.upsert('Session', 'sess-tz', { payload: '{}', uid: 'uid-tz', expiresAt });
    await artifacts.consume('Session', 'sess-tz', new Date('2031-03-09T06:00:00.250Z'));
    const row = await database.db.prisma.oidcArtifact.findUnique({ where: { model_id: { model: 'Session', id: 'sess-tz' } } });
    expect(row).toMatchObject({ expiresAt, consumedAt: new Date('2031-03-09T06:00:00.250Z'), uid: 'uid-tz' });
    expect(await artifacts.find('Session', 'sess-tz')).toEqual(row);
    // Prisma's own comparison against the instant written here: one millisecond apart either way.
    expect(await database.db.prisma.oidcArtifact.count({ where: { id: 'sess-tz', expiresAt: { lt: new Date(expiresAt.getTime() + 1) } } })).toBe(1);
    expect(await database.db.prisma.oidcArtifact.count({ where: { id: 'sess-tz', expiresAt: { lt: expiresAt } } })).toBe(0);
    // And the live lookup's comparison here, against what was written.
    expect(await artifacts.find('Session', 'sess-tz', { liveAt: new Date(expiresAt.getTime() - 1) })).not.toBeNull();
    expect(await artifacts.find('Session', 'sess-tz', { liveAt: expiresAt })).toBeNull();
  });
});
