// purgeInBatches, the loop the three purges share: batches of at most
// PURGE_BATCH_SIZE, never more than `limit` rows in all, no second look
// after a short batch, and a full batch whose rows no longer all qualify
// (changed since they were found) still followed by the next.
import { describe, expect, it } from 'vitest';
import { PURGE_BATCH_SIZE, purgeInBatches } from '../../src/db/batch-purge.ts';

/** A table of `rows` purgeable rows, `stale` of which change between find and delete (the first ones found). */
function table(rows: number, stale = 0) {
  let left = Array.from({ length: rows }, (_, i) => i);
  let staleLeft = stale;
  const takes: number[] = [];
  return {
    takes,
    left: () => left.length,
    purge: {
      async find(take: number) {
        takes.push(take);
        return left.slice(0, take);
      },
      async delete(keys: readonly number[]) {
        // The first `stale` rows were re-saved since the find: they no longer qualify, and stay out of the purge from now on.
        const skipped = keys.slice(0, Math.min(staleLeft, keys.length));
        staleLeft -= skipped.length;
        left = left.filter((key) => !keys.includes(key));
        return keys.length - skipped.length;
      },
    },
  };
}

describe('purgeInBatches', () => {
  it('deletes a backlog in full batches and stops after the short one', async () => {
    const t = table(PURGE_BATCH_SIZE * 2 + 7);
    expect(await purgeInBatches(t.purge)).toBe(PURGE_BATCH_SIZE * 2 + 7);
    expect(t.takes).toEqual([PURGE_BATCH_SIZE, PURGE_BATCH_SIZE, PURGE_BATCH_SIZE]);
  });

  it('looks once and stops when nothing is left to purge', async () => {
    const t = table(0);
    expect(await purgeInBatches(t.purge)).toBe(0);
    expect(t.takes).toEqual([PURGE_BATCH_SIZE]);
  });

  it('never deletes more than the limit, asking for no more than what is left of it', async () => {
    const t = table(PURGE_BATCH_SIZE * 3);
    expect(await purgeInBatches(t.purge, PURGE_BATCH_SIZE + 3)).toBe(PURGE_BATCH_SIZE + 3);
    expect(t.takes).toEqual([PURGE_BATCH_SIZE, 3]);
    expect(t.left()).toBe(PURGE_BATCH_SIZE * 2 - 3);
  });

  it('goes on after a full batch some of whose rows changed since they were found, and counts only what it deleted', async () => {
    const t = table(PURGE_BATCH_SIZE + 10, 4);
    expect(await purgeInBatches(t.purge)).toBe(PURGE_BATCH_SIZE + 6);
    expect(t.takes).toEqual([PURGE_BATCH_SIZE, PURGE_BATCH_SIZE]);
  });
});
