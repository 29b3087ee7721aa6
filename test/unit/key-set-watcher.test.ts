// The key-set watcher on stand-in rows and real (short) timers: it calls
// onChange once per change, retries a change that failed to apply, wakes up
// exactly when a published key activates, and lets the schedule act first.
import { afterEach, expect, it } from 'vitest';
import type { KeyTimeline } from '../../src/keys/key-lifecycle.ts';
import { startKeySetWatcher } from '../../src/keys/key-set-watcher.ts';
import type { Periodic } from '../../src/periodic.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = (kid: string, fields: Partial<KeyTimeline> = {}): KeyTimeline => ({
  kid,
  alg: 'ES256',
  state: 'active',
  activatesAt: null,
  retiredAt: null,
  createdAt: new Date(Date.now() - 1000),
  ...fields,
});

let watcher: Periodic | undefined;
afterEach(async () => {
  await watcher?.stop();
});

it('calls onChange once per change of the key set, not for an unchanged one', async () => {
  let rows = [key('a')];
  let changes = 0;
  watcher = startKeySetWatcher({ listKeyTimelines: async () => rows, initial: rows, intervalMs: 20, onChange: async () => void changes++, onError: () => {} });
  await sleep(100);
  expect(changes).toBe(0);
  rows = [key('a'), key('b', { state: 'published', activatesAt: new Date(Date.now() + 60_000) })];
  await sleep(100);
  expect(changes).toBe(1);
  rows = [key('a'), { ...rows[1]!, state: 'retired', retiredAt: new Date() }];
  await watcher.runNow();
  expect(changes).toBe(2);
});

it('retries a change whose onChange failed, and reports the failure', async () => {
  const rows = [key('a')];
  const errors: unknown[] = [];
  let attempts = 0;
  watcher = startKeySetWatcher({
    listKeyTimelines: async () => rows,
    intervalMs: 20,
    onChange: async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('reload failed');
    },
    onError: (error) => errors.push(error),
  });
  await sleep(150);
  expect(attempts).toBe(2);
  expect(errors).toEqual([new Error('reload failed')]);
});

it('wakes up at a published key’s activation instead of waiting for the interval', async () => {
  const activatesAt = new Date(Date.now() + 150);
  const rows = [key('a'), key('b', { state: 'published', activatesAt })];
  let changedAt: number | undefined;
  watcher = startKeySetWatcher({ listKeyTimelines: async () => rows, initial: rows, intervalMs: 60_000, onChange: async () => void (changedAt = Date.now()), onError: () => {} });
  for (let waited = 0; changedAt === undefined && waited < 3000; waited += 50) await sleep(50);
  expect(changedAt).toBeGreaterThanOrEqual(activatesAt.getTime());
  // The interval is a minute: only the activation timer can explain a change this soon.
  expect(changedAt! - activatesAt.getTime()).toBeLessThan(2000);
});

it('runs the schedule first and compares the key set it leaves behind', async () => {
  let rows = [key('a')];
  const seen: string[][] = [];
  watcher = startKeySetWatcher({
    listKeyTimelines: async () => rows,
    initial: rows,
    intervalMs: 60_000,
    maintain: async (current) => {
      seen.push(current.map((k) => k.kid));
      if (current.length > 1) return false;
      rows = [...current, key('rotated', { state: 'published', activatesAt: new Date(Date.now() + 60_000) })];
      return true;
    },
    onChange: async () => void seen.push(['changed']),
    onError: () => {},
  });
  await watcher.runNow();
  expect(seen).toEqual([['a'], ['changed']]);
});
