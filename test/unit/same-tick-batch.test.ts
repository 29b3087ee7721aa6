// batchSameTick: the calls made in one synchronous run share one call of
// `run`, each gets its own answer, a failure reaches every call of its batch,
// and a call made after an await starts a batch of its own.
import { describe, expect, it } from 'vitest';
import { batchSameTick } from '../../src/db/same-tick-batch.ts';

function recording() {
  const batches: number[][] = [];
  const double = batchSameTick(async (inputs: readonly number[]) => {
    batches.push([...inputs]);
    return inputs.map((n) => n * 2);
  });
  return { double, batches };
}

describe('batchSameTick', () => {
  it('answers calls started together with one run, each with its own output, in order', async () => {
    const { double, batches } = recording();
    expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('starts a new batch for a call made after an await', async () => {
    const { double, batches } = recording();
    expect(await double(1)).toBe(2);
    expect(await double(5)).toBe(10);
    expect(batches).toEqual([[1], [5]]);
  });

  it('rejects every call of a batch whose run failed, and runs the next batch afresh', async () => {
    let fail = true;
    const echo = batchSameTick(async (inputs: readonly string[]) => {
      if (fail) throw Object.assign(new Error('down'), { code: 'P1001' });
      return inputs;
    });
    const outcomes = await Promise.allSettled([echo('a'), echo('b')]);
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as { code?: string }).code)).toEqual(['P1001', 'P1001']);
    fail = false;
    expect(await echo('c')).toBe('c');
  });
});
