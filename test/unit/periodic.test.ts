// The one scheduler every background loop uses, on real (short) timers: it
// runs on its interval, never overlaps runs, keeps its schedule through a
// failed run (and a failing reporter), wakes sooner when a run asks, and
// stop() waits for the run in progress and lets no other start.
import { afterEach, describe, expect, it } from 'vitest';
import { startPeriodic, type Periodic, type PeriodicOptions } from '../../src/periodic.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
};

let task: Periodic | undefined;
const start = (options: Partial<PeriodicOptions> & Pick<PeriodicOptions, 'run'>) => {
  task = startPeriodic({ name: 'test', intervalMs: 10, onError: () => {}, ...options });
  return task;
};

afterEach(async () => {
  await task?.stop();
  task = undefined;
});

describe('startPeriodic', () => {
  it('runs on its interval', async () => {
    let runs = 0;
    start({ run: async () => void runs++ });
    await waitFor(() => runs >= 3);
    expect(task!.name).toBe('test');
  });

  it('never overlaps runs, even when a run outlasts the interval or one is asked for meanwhile', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    start({
      intervalMs: 1,
      async run() {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await sleep(30);
        active -= 1;
        runs += 1;
      },
    });
    await Promise.all([task!.runNow(), task!.runNow()]);
    await waitFor(() => runs >= 4);
    expect(maxActive).toBe(1);
  });

  it('stop() waits for the run in progress, and no run starts afterwards', async () => {
    const release = deferred();
    const started = deferred();
    let calls = 0;
    start({
      intervalMs: 5,
      async run() {
        calls += 1;
        started.resolve();
        await release.promise;
      },
    });
    await started.promise;

    let stopped = false;
    const stopping = task!.stop().then(() => (stopped = true));
    await sleep(30);
    expect(stopped).toBe(false);

    release.resolve();
    await stopping;
    await sleep(30);
    expect(calls).toBe(1);
    await task!.runNow();
    expect(calls).toBe(1);
  });

  it('reports a failed run to onError and keeps its schedule, even when the reporter fails', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    start({
      intervalMs: 5,
      async run() {
        calls += 1;
        if (calls === 1) throw new Error('database went away');
      },
      onError(error) {
        errors.push(error);
        throw new Error('the reporter itself fails');
      },
    });
    await waitFor(() => calls >= 3);
    expect(errors).toEqual([new Error('database went away')]);
  });

  it('runs sooner than the interval when a run says so, and first when firstRunInMs says', async () => {
    const at: number[] = [];
    const started = Date.now();
    start({
      intervalMs: 60_000,
      firstRunInMs: 20,
      async run() {
        at.push(Date.now() - started);
        return at.length < 3 ? 20 : undefined;
      },
    });
    await waitFor(() => at.length >= 3, 3_000);
    // The interval is a minute: only the shorter waits explain three runs this soon.
    expect(at[2]!).toBeLessThan(3_000);
    await sleep(100);
    expect(at).toHaveLength(3);
  });

  it('runNow() runs at once and resolves when the run is done', async () => {
    let runs = 0;
    start({ intervalMs: 60_000, run: async () => void runs++ });
    await task!.runNow();
    expect(runs).toBe(1);
  });

  it('does not keep the process alive, and stop() before the first run is clean', async () => {
    // Lists only what keeps the event loop alive, so an unref'd timer adds nothing.
    const refTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = refTimers();
    let runs = 0;
    start({ intervalMs: 60_000, run: async () => void runs++ });
    expect(refTimers()).toBe(before);
    await expect(task!.stop()).resolves.toBeUndefined();
    expect(runs).toBe(0);
  });

  const badIntervals: [string, number][] = [
    ['zero', 0],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ];
  for (const [description, intervalMs] of badIntervals) {
    it(`refuses a ${description} interval`, () => {
      expect(() => startPeriodic({ name: 'bad', intervalMs, run: async () => {}, onError: () => {} })).toThrow(RangeError);
    });
  }
});
