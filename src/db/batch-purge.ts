// Deletes the rows a purge is for a batch at a time, so that a large backlog
// (a retention period shortened, an instance down for a week) never holds a
// lock on a table for long: the one loop behind the expired-artifact,
// idle-throttle-key and audit-retention purges.

/** Rows per batch: small enough to hold locks only briefly. */
export const PURGE_BATCH_SIZE = 500;

export interface BatchPurge<Key> {
  /** Up to `take` rows the purge is for, as the keys to delete them by. */
  find(take: number): Promise<readonly Key[]>;
  /**
   * Deletes the rows of `keys` that the purge is still for, checking its
   * condition again as it deletes (a row changed since `find` stays), and
   * resolves to how many it deleted.
   */
  delete(keys: readonly Key[]): Promise<number>;
}

/** Runs `purge` in batches of PURGE_BATCH_SIZE until no row is left or `limit` rows were deleted; resolves to how many were. */
export async function purgeInBatches<Key>(purge: BatchPurge<Key>, limit: number = Number.POSITIVE_INFINITY): Promise<number> {
  let deleted = 0;
  while (deleted < limit) {
    const take = Math.min(PURGE_BATCH_SIZE, limit - deleted);
    const keys = await purge.find(take);
    if (keys.length === 0) break;
    deleted += await purge.delete(keys);
    // A short batch was the last one: no second look for rows that are not there.
    if (keys.length < take) break;
  }
  return deleted;
}
