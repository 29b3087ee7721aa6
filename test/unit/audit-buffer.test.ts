// The batching buffer behind server-side audit events: written in batches
// (by size or by time), kept and retried while the database is unreachable,
// bounded in memory (oldest dropped and counted), flushed on stop, and never
// making the recorder wait.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuditBuffer, type AuditBufferOptions } from '../../src/audit/audit-buffer.ts';

class Unreachable extends Error {}

function setup(overrides: Partial<AuditBufferOptions<number>> = {}) {
  const batches: number[][] = [];
  const errors: { lost: number; kept: number }[] = [];
  const recoveries: { dropped: number; outage: boolean }[] = [];
  let failWith: Error | undefined;
  let hang: Promise<void> | undefined;
  const buffer = createAuditBuffer<number>({
    intervalMs: 1000,
    batchSize: 10,
    capacity: 50,
    stopTimeoutMs: 500,
    async write(batch) {
      if (hang) await hang;
      if (failWith) throw failWith;
      batches.push([...batch]);
    },
    retryable: (error) => error instanceof Unreachable,
    onWriteError: (_error, state) => errors.push({ ...state }),
    onResumed: (state) => recoveries.push({ ...state }),
    ...overrides,
  });
  return {
    buffer,
    batches,
    errors,
    recoveries,
    written: () => batches.flat(),
    fail: (error: Error | undefined) => (failWith = error),
    hangUntil: (promise: Promise<void> | undefined) => (hang = promise),
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('audit buffer', () => {
  it('writes nothing per event, then one batch on the interval', async () => {
    const { buffer, batches } = setup();
    for (let i = 0; i < 3; i++) buffer.add(i);
    await vi.advanceTimersByTimeAsync(999);
    expect(batches).toEqual([]);
    expect(buffer.stats()).toEqual({ pending: 3, dropped: 0 });
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[0, 1, 2]]);
    expect(buffer.stats()).toEqual({ pending: 0, dropped: 0 });
  });

  it('writes early once a batch is full, without waiting for the interval', async () => {
    const { buffer, batches } = setup();
    for (let i = 0; i < 10; i++) buffer.add(i);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });

  it('never makes the recorder wait for a slow write, and writes what arrived meanwhile right after', async () => {
    const { buffer, batches, hangUntil } = setup();
    let release!: () => void;
    hangUntil(new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 10; i++) buffer.add(i); // starts a write that hangs
    for (let i = 10; i < 25; i++) buffer.add(i); // returns at once all the same
    expect(buffer.stats().pending).toBe(15);
    hangUntil(undefined);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], Array.from({ length: 15 }, (_, i) => i + 10)]);
  });

  it('leaves fewer than a batch that arrived during a write for the interval, instead of writing them at once', async () => {
    const { buffer, batches, hangUntil } = setup();
    let release!: () => void;
    hangUntil(new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 10; i++) buffer.add(i); // a full batch: written at once (and hangs)
    for (let i = 10; i < 14; i++) buffer.add(i);
    hangUntil(undefined);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(buffer.stats().pending).toBe(4);
    await vi.advanceTimersByTimeAsync(1000);
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13]]);
  });

  it('writes on the tick what waits then; what arrives during that write waits for the next tick', async () => {
    const { buffer, batches, hangUntil } = setup();
    let release!: () => void;
    hangUntil(new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 3; i++) buffer.add(i);
    await vi.advanceTimersByTimeAsync(1000); // the tick's write starts, and hangs
    for (let i = 3; i < 6; i++) buffer.add(i);
    hangUntil(undefined);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[0, 1, 2]]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('flush() writes everything waiting, after a write already in flight', async () => {
    const { buffer, batches, hangUntil } = setup();
    let release!: () => void;
    hangUntil(new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 12; i++) buffer.add(i); // 0..9 go out at once and hang; 10 and 11 arrive meanwhile
    const flushed = buffer.flush();
    hangUntil(undefined);
    release();
    await flushed;
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11]]);
    expect(buffer.stats().pending).toBe(0);
  });

  it('keeps events while the database is unreachable, retries on the next tick, and reports the outage once', async () => {
    const { buffer, written, errors, recoveries, fail } = setup();
    fail(new Unreachable('connection refused'));
    for (let i = 0; i < 5; i++) buffer.add(i);
    await vi.advanceTimersByTimeAsync(3000); // three failed attempts
    expect(errors).toEqual([{ kept: 5, lost: 0 }]);
    buffer.add(5);
    fail(undefined);
    await vi.advanceTimersByTimeAsync(1000);
    expect(written()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(recoveries).toEqual([{ dropped: 0, outage: true }]);
  });

  it('bounds memory while the database stays away: the oldest events are dropped and counted', async () => {
    const { buffer, written, recoveries, fail } = setup();
    fail(new Unreachable('down'));
    for (let i = 0; i < 200; i++) buffer.add(i);
    await vi.advanceTimersByTimeAsync(1000);
    const { pending, dropped } = buffer.stats();
    expect(pending).toBeLessThanOrEqual(50);
    expect(pending + dropped).toBe(200);
    fail(undefined);
    await vi.advanceTimersByTimeAsync(1000);
    // The newest survive, in order.
    expect(written()).toEqual(Array.from({ length: pending }, (_, i) => 200 - pending + i));
    expect(recoveries).toEqual([{ dropped, outage: true }]);
  });

  it('discards a batch the database refuses for good (not an outage) and goes on with the next', async () => {
    const { buffer, written, errors, fail } = setup();
    fail(new Error('constraint violated'));
    for (let i = 0; i < 3; i++) buffer.add(i);
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toEqual([{ kept: 0, lost: 3 }]);
    fail(undefined);
    buffer.add(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(written()).toEqual([3]);
    expect(buffer.stats()).toEqual({ pending: 0, dropped: 3 });
  });

  it('writes everything left on stop, and counts events recorded after it as dropped', async () => {
    const { buffer, written } = setup();
    for (let i = 0; i < 7; i++) buffer.add(i);
    await buffer.stop();
    expect(written()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    buffer.add(7);
    await vi.advanceTimersByTimeAsync(5000);
    expect(written()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(buffer.stats()).toEqual({ pending: 0, dropped: 1 });
  });

  it('gives up at stop after stopTimeoutMs when a write hangs, reporting what is lost', async () => {
    const { buffer, errors, hangUntil } = setup();
    hangUntil(new Promise<void>(() => {}));
    for (let i = 0; i < 13; i++) buffer.add(i); // the first 10 go to a write that never ends
    let done = false;
    const stopped = buffer.stop().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopped;
    expect(errors).toEqual([{ kept: 0, lost: 3 }]);
    expect(buffer.stats()).toEqual({ pending: 0, dropped: 3 });
  });

  it('reports events dropped because writes could not keep up, once a write succeeds', async () => {
    const { buffer, recoveries, hangUntil } = setup();
    let release!: () => void;
    hangUntil(new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 100; i++) buffer.add(i);
    const { dropped } = buffer.stats();
    expect(dropped).toBeGreaterThan(0);
    hangUntil(undefined);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(recoveries).toEqual([{ dropped, outage: false }]);
  });

  it('reports events still pending at stop when the database is unreachable', async () => {
    const { buffer, errors, fail } = setup();
    fail(new Unreachable('down'));
    for (let i = 0; i < 4; i++) buffer.add(i);
    await buffer.stop();
    expect(errors.at(-1)).toEqual({ kept: 0, lost: 4 });
    expect(buffer.stats()).toEqual({ pending: 0, dropped: 4 });
  });
});
