// The audit service against a real database: server-side events wait in
// memory and are written as batches (by size, by time, and on stop), the CLI's
// are written before recordNow returns, and big batches are split into
// statements both dialects accept.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuditRepository } from '../../src/audit/audit-repository.ts';
import { createAuditService, type AuditBatchOptions } from '../../src/audit/audit-service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let testDb: TestDatabase;
const stored = () => testDb.db.prisma.auditEvent.count();

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});
beforeEach(async () => {
  await testDb.db.prisma.auditEvent.deleteMany();
});

function service(batch: Partial<AuditBatchOptions>) {
  // A counting repository: the real one, with its batch writes observed.
  const repository = createAuditRepository(testDb.db);
  const writes: number[] = [];
  const counted = { ...repository, insertMany: async (rows: Parameters<typeof repository.insertMany>[0]) => (writes.push(rows.length), repository.insertMany(rows)) };
  return { audit: createAuditService({ repository: counted, batch }), writes };
}

async function eventually(check: () => Promise<boolean>, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('server-side recording', () => {
  it('writes nothing per event; a full batch is written as one write', async () => {
    const { audit, writes } = service({ intervalMs: 60_000, batchSize: 100 });
    for (let i = 0; i < 99; i++) audit.record({ type: 'token.issued', clientId: `c${i}`, details: { grantType: 'client_credentials' } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await stored()).toBe(0);
    expect(audit.stats()).toEqual({ pending: 99, dropped: 0 });
    audit.record({ type: 'token.issued', clientId: 'c99' });
    await eventually(async () => (await stored()) === 100);
    expect(writes).toEqual([100]);
    await audit.stop();
  });

  it('writes what waits on the interval', async () => {
    const { audit, writes } = service({ intervalMs: 300, batchSize: 100 });
    for (let i = 0; i < 5; i++) audit.record({ type: 'login.success', subject: `a${i}` });
    expect(await stored()).toBe(0);
    await eventually(async () => (await stored()) === 5, 3000);
    expect(writes).toEqual([5]);
    await audit.stop();
  });

  it('writes everything still waiting on stop, more rows than one statement takes, in recording order', async () => {
    const { audit, writes } = service({ intervalMs: 60_000, batchSize: 5000, capacity: 5000 });
    for (let i = 0; i < 1234; i++) audit.record({ type: 'token.issued', clientId: 'svc', details: { n: i } });
    expect(await stored()).toBe(0);
    await audit.stop();
    expect(writes).toEqual([1234]);
    expect(await stored()).toBe(1234);
    // Recording order survives the batch: newest first by time, then id.
    const listed = await createAuditRepository(testDb.db).list({ limit: 3 });
    expect(listed.map((row) => JSON.parse(row.details!).n)).toEqual([1233, 1232, 1231]);
    audit.record({ type: 'token.issued' });
    expect(audit.stats()).toEqual({ pending: 0, dropped: 1 });
  });

  it('list() writes what this process still holds before reading', async () => {
    const { audit } = service({ intervalMs: 60_000, batchSize: 100 });
    audit.record({ type: 'logout', actor: 'someone', subject: 'someone', clientId: 'app', ip: '192.0.2.1' });
    const [event] = await audit.list({ types: ['logout'] });
    expect(event).toEqual({ id: expect.any(String), type: 'logout', at: expect.any(Date), actor: 'someone', subject: 'someone', clientId: 'app', ip: '192.0.2.1', details: null });
    await audit.stop();
  });
});

describe('batch insert', () => {
  const rows = [
    { id: '01', type: 'login.failure', at: new Date('2026-11-29T04:31:54.123Z'), actor: null, subject: null, clientId: null, ip: '2001:db8::1', details: '{"reason":"unknown_account"}' },
    { id: '02', type: 'token.issued', at: new Date('1999-12-31T23:59:59.999Z'), actor: 'a"b\'c', subject: 'Zoë 日本 🚀', clientId: 'x\\y', ip: null, details: null },
    { id: '03', type: 'client.created', at: new Date('2026-01-01T00:00:00.000Z'), actor: 'cli', subject: '', clientId: 'lk_1', ip: '192.0.2.1', details: '{"nested":{"a":[1,2]},"q":"\\"quoted\\""}' },
  ];
  const many = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ id: `m${String(i).padStart(5, '0')}`, type: 'token.issued', at: new Date(Date.UTC(2026, 10, 29, 0, 0, 0, i)), actor: 'svc', subject: 'svc', clientId: 'svc', ip: '127.0.0.1', details: `{"n":${i}}` }));

  // The prepared statements (the server's path), and Prisma alone (an
  // in-memory SQLite database, or SQLite busy on the prepared connection).
  const paths = [
    ['prepared statements', () => createAuditRepository(testDb.db)],
    ['Prisma', () => createAuditRepository({ prisma: testDb.db.prisma, dialect: testDb.db.dialect })],
  ] as const;

  it('runs on prepared statements here (not only the Prisma path)', () => {
    expect(testDb.db.statements).toBeDefined();
  });

  for (const [name, repository] of paths) {
    it(`${name}: stores each row exactly as given: nulls, quotes, non-ASCII text, JSON details, millisecond times`, async () => {
      await repository().insertMany(rows);
      await repository().insertMany([]);
      const stored = await testDb.db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } });
      expect(stored).toEqual(rows);
    });

    it(`${name}: a batch longer than one statement, written again after part of it was stored (a retry), stores each event once`, async () => {
      const batch = many(1234);
      await repository().insertMany(batch.slice(0, 150));
      await repository().insertMany(batch);
      const stored = await testDb.db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } });
      expect(stored).toEqual(batch);
    });
  }
});

describe('retention', () => {
  it('deletes events older than the retention, oldest first and at most `limit` a run, and keeps the rest', async () => {
    const repository = createAuditRepository(testDb.db);
    const now = new Date('2031-06-30T12:00:00.000Z');
    const day = 24 * 3600 * 1000;
    const event = (id: string, daysAgo: number) => ({ id, type: 'token.issued', at: new Date(now.getTime() - daysAgo * day), actor: 'c', subject: 'c', clientId: 'c', ip: null, details: null });
    // 1200 old ones (more than one delete statement takes), one just inside the window.
    const old = Array.from({ length: 1200 }, (_, i) => event(`old-${String(i).padStart(4, '0')}`, 91 + i / 1000));
    await repository.insertMany([...old, event('recent', 89.99), event('today', 0)]);
    const audit = createAuditService({ repository, now: () => now });

    expect(await audit.purgeOlderThan(90, 700)).toBe(700);
    // The oldest went first (a higher number is older here): old-0500 … old-1199.
    const left = (await testDb.db.prisma.auditEvent.findMany({ where: { id: { startsWith: 'old-' } }, orderBy: { id: 'asc' } })).map((row) => row.id);
    expect(left).toEqual(old.slice(0, 500).map((row) => row.id));
    expect(await audit.purgeOlderThan(90)).toBe(500);
    expect(await audit.purgeOlderThan(90)).toBe(0);
    expect((await testDb.db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id)).toEqual(['recent', 'today']);
  });
});

describe('CLI recording', () => {
  it('recordNow has stored the event when it resolves', async () => {
    const { audit, writes } = service({ intervalMs: 60_000 });
    const event = await audit.recordNow({ type: 'client.created', actor: 'cli', subject: 'lk_x', clientId: 'lk_x', details: { name: 'X' } });
    const row = await testDb.db.prisma.auditEvent.findUnique({ where: { id: event.id } });
    expect(row).toMatchObject({ type: 'client.created', actor: 'cli', subject: 'lk_x', clientId: 'lk_x', ip: null, details: '{"name":"X"}' });
    expect(writes).toEqual([]);
  });
});
