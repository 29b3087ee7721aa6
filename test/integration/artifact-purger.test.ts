// Purging expired oidc-provider artifacts on a real database: the repository's
// batched delete, then the timer that runs it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startArtifactPurger } from '../../src/oidc/artifact-purger.ts';
import { createArtifactRepository, PURGE_BATCH_SIZE, type ArtifactRepository } from '../../src/oidc/artifact-repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const NOW = Date.UTC(2030, 0, 1);
const MODELS = ['Session', 'AccessToken', 'AuthorizationCode', 'Interaction'];

let database: TestDatabase;
let artifacts: ArtifactRepository;

beforeAll(async () => {
  database = await createTestDatabase();
  artifacts = createArtifactRepository(database.db);
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

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

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

describe('startArtifactPurger', () => {
  it('purges expired rows on its interval and keeps unexpired ones', async () => {
    await seed(6, new Date(NOW - 1));
    const kept = [...(await seed(3, new Date(NOW + 60_000))), ...(await seed(1, null))].sort();
    const purged: number[] = [];
    const errors: unknown[] = [];

    const purger = startArtifactPurger({
      artifacts,
      intervalMs: 10,
      now: () => NOW,
      onError: (error) => errors.push(error),
      onPurged: (count) => purged.push(count),
    });
    await waitFor(() => purged.length >= 2);
    await purger.stop();

    expect(errors).toEqual([]);
    expect(purged[0]).toBe(6);
    expect(purged.slice(1).every((count) => count === 0)).toBe(true);
    expect(await remaining()).toEqual(kept);
  });

  it('never overlaps runs, even when a run outlasts the interval', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const slow = {
      async purgeExpired(before: Date, limit?: number) {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 30));
        const count = await artifacts.purgeExpired(before, limit);
        active -= 1;
        runs += 1;
        return count;
      },
    };
    const purger = startArtifactPurger({ artifacts: slow, intervalMs: 1, onError: () => {} });
    await waitFor(() => runs >= 3);
    await purger.stop();

    expect(maxActive).toBe(1);
  });

  it('stop() waits for the run in progress, and no run starts afterwards', async () => {
    await seed(4, new Date(NOW - 1));
    const release = deferred();
    const started = deferred();
    let calls = 0;
    const gated = {
      async purgeExpired(before: Date, limit?: number) {
        calls += 1;
        started.resolve();
        await release.promise;
        return artifacts.purgeExpired(before, limit);
      },
    };
    const purger = startArtifactPurger({ artifacts: gated, intervalMs: 5, now: () => NOW, onError: () => {} });
    await started.promise;

    let stopped = false;
    const stopping = purger.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);

    release.resolve();
    await stopping;
    expect(await remaining()).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(1);
  });

  it('reports a failed run to onError and keeps its schedule', async () => {
    await seed(2, new Date(NOW - 1));
    let calls = 0;
    const errors: unknown[] = [];
    const purged: number[] = [];
    const failingOnce = {
      async purgeExpired(before: Date, limit?: number) {
        calls += 1;
        if (calls === 1) throw new Error('database went away');
        return artifacts.purgeExpired(before, limit);
      },
    };
    const purger = startArtifactPurger({
      artifacts: failingOnce,
      intervalMs: 5,
      now: () => NOW,
      onError: (error) => {
        errors.push(error);
        throw new Error('the reporter itself fails');
      },
      onPurged: (count) => purged.push(count),
    });
    await waitFor(() => purged.length >= 1);
    await purger.stop();

    expect(errors).toEqual([new Error('database went away')]);
    expect(purged[0]).toBe(2);
    expect(await remaining()).toEqual([]);
  });

  it('does not keep the process alive, and stop() before the first run is clean', async () => {
    // Lists only what keeps the event loop alive, so an unref'd timer adds nothing.
    const refTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = refTimers();
    const purger = startArtifactPurger({ artifacts, intervalMs: 60_000, onError: () => {} });
    expect(refTimers()).toBe(before);
    await expect(purger.stop()).resolves.toBeUndefined();
  });

  const badIntervals: [string, number][] = [
    ['zero', 0],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ];
  for (const [description, intervalMs] of badIntervals) {
    it(`refuses a ${description} interval`, () => {
      expect(() => startArtifactPurger({ artifacts, intervalMs, onError: () => {} })).toThrow(RangeError);
    });
  }
});
