// Upgrading a database with accounts across the federation migration: on
// SQLite it rebuilds the Account table (a NOT NULL cannot be dropped in
// place), so every row must come through column for column, and every index
// (the email prefix index, which only the migrations know, included) must be
// there after. On PostgreSQL the column is altered in place. Either way a
// password hash may then be null. On the dialect under test.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrator.ts';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.ts';

const FEDERATION = '20261206200000_federation';
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  await migrate(database.config, loadMigrations(testDialect()).filter((migration) => migration.name < FEDERATION));
});

afterAll(async () => {
  await database?.drop();
});

const ROWS = [
  { id: '11111111-1111-4111-8111-111111111111', email: 'ada@example.com', emailVerified: true, name: 'Ada', passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', disabled: false, role: 'admin', createdAt: new Date('2026-01-02T03:04:05.678Z'), updatedAt: new Date('2026-02-03T04:05:06.789Z') },
  { id: '22222222-2222-4222-8222-222222222222', email: 'bob@example.com', emailVerified: false, name: null, passwordHash: '$argon2id$v=19$m=7168,t=5,p=1$c2FsdA$aGFzaA', disabled: true, role: 'none', createdAt: new Date('2025-12-31T23:59:59.999Z'), updatedAt: new Date('2026-01-01T00:00:00.000Z') },
];

it('carries every account through, keeps every index, and lets a password hash be null', async () => {
  // Written raw: the generated client already knows the new column, the table does not yet.
  for (const r of ROWS) {
    await database.db.prisma.$executeRaw`INSERT INTO "Account" ("id", "email", "emailVerified", "name", "passwordHash", "disabled", "role", "createdAt", "updatedAt") VALUES (${r.id}, ${r.email}, ${r.emailVerified}, ${r.name}, ${r.passwordHash}, ${r.disabled}, ${r.role}, ${r.createdAt}, ${r.updatedAt})`;
  }
  const stored = () => database.db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT "id", "email", "emailVerified", "name", "passwordHash", "disabled", "role", "createdAt", "updatedAt" FROM "Account" ORDER BY "id"`);
  const before = await stored();
  expect(before).toHaveLength(ROWS.length);

  const { applied } = await migrate(database.config);
  expect(applied[0]).toBe(FEDERATION);

  // Byte for byte as stored, and as the client reads them.
  expect(await stored()).toEqual(before);
  const after = await database.db.prisma.account.findMany({ orderBy: { id: 'asc' } });
  expect(after).toEqual(ROWS.map((row) => ({ ...row, picture: null })));

  const indexes = testDialect() === 'postgres'
    ? await database.db.prisma.$queryRawUnsafe<{ name: string; sql: string }[]>(`SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'Account' ORDER BY indexname`)
    : await database.db.prisma.$queryRawUnsafe<{ name: string; sql: string | null }[]>(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Account' ORDER BY name`);
  const names = indexes.map((index) => index.name);
  expect(names).toEqual(expect.arrayContaining(['Account_email_key', 'Account_email_prefix_idx']));
  const prefix = indexes.find((index) => index.name === 'Account_email_prefix_idx')!.sql!;
  expect(prefix).toContain(testDialect() === 'postgres' ? 'text_pattern_ops' : 'COLLATE NOCASE');
  if (testDialect() === 'sqlite') {
    // The prefix search's query still uses it (db/account-repository.ts PREFIX_PAGE).
    const plan = await database.db.prisma.$queryRawUnsafe<{ detail: string }[]>(`EXPLAIN QUERY PLAN SELECT "id" FROM "Account" WHERE "email" LIKE 'ad%' ESCAPE '\\' AND "id" > '' ORDER BY "id" LIMIT 5`);
    expect(plan.map((step) => step.detail).join(' ')).toContain('Account_email_prefix_idx');
  }

  await database.db.prisma.account.create({ data: { id: '33333333-3333-4333-8333-333333333333', email: 'fed@example.com', passwordHash: null, picture: 'https://cdn.example/p.png' } });
  expect(await database.db.prisma.account.findUniqueOrThrow({ where: { email: 'fed@example.com' } })).toMatchObject({ passwordHash: null, picture: 'https://cdn.example/p.png' });
  // The unique email still holds.
  await expect(database.db.prisma.account.create({ data: { id: '44444444-4444-4444-8444-444444444444', email: 'ada@example.com', passwordHash: null } })).rejects.toMatchObject({ code: 'P2002' });
});
