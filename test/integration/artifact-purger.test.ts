// Purging expired oidc-provider artifacts on a real database: the repository's
// batched delete, then the purge tasks that run it (and the throttle and
// audit purges) on startPeriodic's schedule, which test/unit/periodic.test.ts
// covers on its own.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccountTokenRepository } from '../../src/accounts/account-token-repository.ts';
import { createAccountTokens, type AccountTokens } from '../../src/accounts/account-tokens.ts';
import { createAuditRepository } from '../../src/audit/audit-repository.ts';
import { createAuditService } from '../../src/audit/audit-service.ts';
import { createLogoutOutboxRepository } from '../../src/backchannel/logout-outbox-repository.ts';
import { createArtifactRepository, PURGE_BATCH_SIZE, type ArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import type { Periodic } from '../../src/periodic.ts';
import { LOGOUT_NOTICE_RETENTION_MS, startPurgeTasks } from '../../src/purge-tasks.ts';
import { createThrottleRepository } from '../../src/throttle/throttle-repository.ts';
import { createThrottleService } from '../../src/throttle/throttle-service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const NOW = Date.UTC(2030, 0, 1);
const MODELS = ['Session', 'AccessToken', 'AuthorizationCode', 'Interaction'];

let database: TestDatabase;
let artifacts: ArtifactRepository;
let accountTokens: AccountTokens;

beforeAll(async () => {
  database = await createTestDatabase();
  artifacts = createArtifactRepository(database.db);
  accountTokens = createAccountTokens({ repository: createAccountTokenRepository(database.db) });
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  await database.db.prisma.oidcArtifact.deleteMany({});
});

/** Inserts `count` rows expiring at `expiresAt` (null: never), spread over several models; returns their keys. */
async function seed(count: number, expiresAt: Date | null): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, i) => ({
    model: MODELS[i % MODELS.length]!,
    id: randomUUID(),
    payload: '{}',
    expiresAt,
  }));
  await database.db.prisma.oidcArtifact.createMany({ data: rows });
  return rows.map((row) => `${row.model}:${row.id}`).sort();
}

async function remaining(): Promise<string[]> {
  const rows = await database.db.prisma.oidcArtifact.findMany({ select: { model: true, id: true } });
  return rows.map((row) => `${row.model}:${row.id}`).sort();
}

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('artifact repository purgeExpired', () => {
  it('deletes rows expired before the cut-off and keeps later and never-expiring ones', async () => {
    await seed(7, new Date(NOW - 1));
    const atCutOff = await seed(2, new Date(NOW));
    const later = await seed(3, new Date(NOW + 60_000));
    const never = await seed(2, null);

    expect(await artifacts.purgeExpired(new Date(NOW))).toBe(7);
    expect(await remaining()).toEqual([...atCutOff, ...later, ...never].sort());
    expect(await artifacts.purgeExpired(new Date(NOW))).toBe(0);
  });

  it('works through a backlog larger than one batch', async () => {
    const backlog = PURGE_BATCH_SIZE * 2 + 37;
    await seed(backlog, new Date(NOW - 3_600_000));
    const kept = await seed(5, new Date(NOW + 1));

    expect(await artifacts.purgeExpired(new Date(NOW))).toBe(backlog);
    expect(await remaining()).toEqual(kept);
  });

  it('stops at the limit and leaves the rest for the next call', async () => {
    await seed(PURGE_BATCH_SIZE + 10, new Date(NOW - 1));

    expect(await artifacts.purgeExpired(new Date(NOW), PURGE_BATCH_SIZE + 3)).toBe(PURGE_BATCH_SIZE + 3);
    expect(await remaining()).toHaveLength(7);
    expect(await artifacts.purgeExpired(new Date(NOW), 3)).toBe(3);
    expect(await artifacts.purgeExpired(new Date(NOW))).toBe(4);
    expect(await remaining()).toEqual([]);
  });
});

describe('startPurgeTasks', () => {
  const audit = () => createAuditService({ repository: createAuditRepository(database.db) });
  const throttle = () => createThrottleService({ repository: createThrottleRepository(database.db) });
  const logoutOutbox = () => createLogoutOutboxRepository(database.db);
  let tasks: Periodic[] = [];
  afterEach(async () => {
    for (const task of tasks) await task.stop();
    tasks = [];
    await database.db.prisma.throttle.deleteMany({});
    await database.db.prisma.auditEvent.deleteMany({});
  });

  it('purges expired artifacts, idle throttle keys and old audit events on their interval, and keeps the rest', async () => {
    await seed(6, new Date(NOW - 1));
    const kept = [...(await seed(3, new Date(NOW + 60_000))), ...(await seed(1, null))].sort();
    const long = new Date(Date.now() - 400 * 24 * 3600 * 1000);
    await database.db.prisma.throttle.createMany({
      data: [
        { key: 'idle', failures: 1, windowStart: long, updatedAt: long },
        { key: 'fresh', failures: 1, windowStart: new Date(), updatedAt: new Date() },
      ],
    });
    await database.db.prisma.auditEvent.createMany({
      data: [
        { id: randomUUID(), type: 'login.success', at: long },
        { id: randomUUID(), type: 'login.success', at: new Date() },
      ],
    });
    const token = (id: string, expiresAt: Date) => ({ id, purpose: 'reset_password', accountId: randomUUID(), email: 'ada@example.test', expiresAt });
    await database.db.prisma.accountToken.createMany({ data: [token('expired', new Date(NOW - 1)), token('live', new Date(NOW + 60_000))] });
    // Back-channel logouts: delivered and given up past the retention go; a recent one and a pending one stay.
    const old = new Date(NOW - LOGOUT_NOTICE_RETENTION_MS - 1);
    const notice = (id: string, finished: { deliveredAt?: Date; failedAt?: Date }) => ({ id, clientId: 'c', accountId: 'a', trigger: 'logout', nextAttemptAt: old, createdAt: old, ...finished });
    await database.db.prisma.logoutOutbox.createMany({
      data: [notice('delivered-old', { deliveredAt: old }), notice('failed-old', { failedAt: old }), notice('delivered-recent', { deliveredAt: new Date(NOW - 1) }), notice('pending', {})],
    });
    const purged = new Map<string, number[]>();
    const errors: unknown[] = [];
    tasks = startPurgeTasks({
      artifacts,
      throttle: throttle(),
      audit: audit(),
      accountTokens,
      logoutOutbox: logoutOutbox(),
      auditRetentionDays: 30,
      intervalMs: 10,
      now: () => NOW,
      onError: (error) => errors.push(error),
      onPurged: (count, what) => purged.set(what, [...(purged.get(what) ?? []), count]),
    });
    expect(tasks.map((task) => task.name)).toEqual(['artifact purge', 'throttle purge', 'account token purge', 'logout notice purge', 'audit purge']);
    await waitFor(() => [...purged.values()].length === 5 && [...purged.values()].every((counts) => counts.length >= 2));

    expect(errors).toEqual([]);
    expect(purged.get('expired artifacts')![0]).toBe(6);
    expect(purged.get('idle throttle keys')![0]).toBe(1);
    expect(purged.get('audit events past their retention')![0]).toBe(1);
    expect(purged.get('expired mailed links')![0]).toBe(1);
    expect(purged.get('back-channel logouts finished a week ago')![0]).toBe(2);
    for (const counts of purged.values()) expect(counts.slice(1).every((count) => count === 0)).toBe(true);
    expect(await remaining()).toEqual(kept);
    expect((await database.db.prisma.throttle.findMany()).map((row) => row.key)).toEqual(['fresh']);
    expect(await database.db.prisma.auditEvent.count()).toBe(1);
    expect((await database.db.prisma.accountToken.findMany()).map((row) => row.id)).toEqual(['live']);
    expect((await database.db.prisma.logoutOutbox.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id)).toEqual(['delivered-recent', 'pending']);
  });

  it('keeps audit events forever when the retention is 0: no audit purge at all', async () => {
    await database.db.prisma.auditEvent.createMany({ data: [{ id: randomUUID(), type: 'login.success', at: new Date(0) }] });
    const seen: string[] = [];
    tasks = startPurgeTasks({ artifacts, throttle: throttle(), audit: audit(), accountTokens, logoutOutbox: logoutOutbox(), auditRetentionDays: 0, intervalMs: 10, onError: () => {}, onPurged: (_count, what) => seen.push(what) });
    expect(tasks.map((task) => task.name)).toEqual(['artifact purge', 'throttle purge', 'account token purge', 'logout notice purge']);
    await waitFor(() => seen.length >= 8);
    expect(seen).not.toContain('audit events past their retention');
    expect(await database.db.prisma.auditEvent.count()).toBe(1);
  });

  it('reports which purge failed and keeps its schedule', async () => {
    let calls = 0;
    const failures: [unknown, string][] = [];
    const purged: number[] = [];
    tasks = startPurgeTasks({
      artifacts: {
        async purgeExpired(before, limit) {
          calls += 1;
          if (calls === 1) throw new Error('database went away');
          return artifacts.purgeExpired(before, limit);
        },
      },
      throttle: throttle(),
      audit: audit(),
      accountTokens,
      logoutOutbox: logoutOutbox(),
      auditRetentionDays: 0,
      intervalMs: 5,
      now: () => NOW,
      onError: (error, what) => failures.push([error, what]),
      onPurged: (count, what) => what === 'expired artifacts' && purged.push(count),
    });
    await seed(2, new Date(NOW - 1));
    await waitFor(() => purged.length >= 1);
    expect(failures).toEqual([[new Error('database went away'), 'expired artifacts']]);
    expect(await remaining()).toEqual([]);
  });
});
