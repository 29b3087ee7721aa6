// The hash a password is verified against when no account has the email, so
// that a miss costs what a wrong password costs and response time does not
// tell which emails exist. It is made with the slowest argon2 parameters
// among the stored hashes, not the configured ones: stored hashes keep the
// parameters they were made with until their next sign-in re-makes them
// (password-hasher.ts needsRehash), so after an operator changes
// LATCHKEY_ARGON2_* accounts not yet re-made verify slower or faster than a
// configured-parameter decoy would.
//
// The distinct parameter sets are read with one query when the decoy is
// first needed and again, in the background, when this process writes a
// hash (an account created, a password set, an upgrade at sign-in); a
// sign-in never waits for that query once the first decoy exists.
import { randomUUID } from 'node:crypto';
import type { AccountRepository } from './account-repository.ts';
import { parseHashParameters, type PasswordHasher, type PasswordHashParams } from './password-hasher.ts';

export interface DecoyHashDeps {
  readonly repository: Pick<AccountRepository, 'passwordHashParameterSets'>;
  readonly hasher: Pick<PasswordHasher, 'hash' | 'parameters'>;
}

/**
 * The set whose verification costs most. argon2 computes memory × passes
 * blocks of 1 KiB whatever the lanes (which @node-rs/argon2 runs on one
 * thread), and that product orders OWASP's configurations as measured
 * (password-hasher.ts: 47104 × 1 21.4 ms, 19456 × 2 13.3, 12288 × 3 7.7,
 * 9216 × 4 7.7, 7168 × 5 6.9); on a tie the larger memory, which costs more
 * to fault in. Undefined for no sets.
 */
export function slowestParameters(sets: readonly PasswordHashParams[]): PasswordHashParams | undefined {
  const cost = (set: PasswordHashParams) => [set.memoryCost * set.timeCost, set.memoryCost, set.parallelism];
  return sets.reduce<PasswordHashParams | undefined>((slowest, set) => {
    if (!slowest) return set;
    const [a, b] = [cost(set), cost(slowest)];
    const first = a.findIndex((value, i) => value !== b[i]);
    return first >= 0 && a[first]! > b[first]! ? set : slowest;
  }, undefined);
}

/**
 * Re-reads of the stored parameters are at least this far apart: after the
 * parameters are raised, every sign-in upgrades a hash for a while, and
 * each would otherwise start another pass over the table.
 */
const REFRESH_GAP_MS = 10_000;

export function createDecoyHash({ repository, hasher }: DecoyHashDeps) {
  let current: Promise<string> | undefined;
  let scheduled: Promise<void> | undefined;
  let lastRefresh = Number.NEGATIVE_INFINITY;

  /** A decoy with the slowest stored parameters (the configured ones when there is no account yet). */
  async function make(): Promise<string> {
    const sets = (await repository.passwordHashParameterSets()).map(parseHashParameters).filter((set) => set !== undefined);
    return hasher.hash(randomUUID(), slowestParameters(sets) ?? hasher.parameters);
  }

  return {
    /** The current decoy; the first call reads the stored parameters and makes it. */
    hash(): Promise<string> {
      if (!current) {
        const made = make();
        current = made;
        // A failure (database away) is not remembered: the next sign-in tries again.
        made.catch(() => {
          if (current === made) current = undefined;
        });
      }
      return current;
    },

    /**
     * Stored hashes changed: re-reads their parameters (at once, or
     * REFRESH_GAP_MS after the last re-read) and swaps in a new decoy when it
     * is made, serving the old one meanwhile. Changes before the re-read
     * starts are all covered by it; one during it schedules another. Nothing
     * to do before a decoy was first needed (the CLI never needs one).
     * Resolves when done; never rejects (a failed re-read keeps the decoy).
     */
    refresh(): Promise<void> {
      if (!current) return Promise.resolve();
      scheduled ??= new Promise<void>((resolve) => {
        setTimeout(resolve, Math.max(0, lastRefresh + REFRESH_GAP_MS - Date.now())).unref();
      }).then(async () => {
        scheduled = undefined;
        lastRefresh = Date.now();
        try {
          current = Promise.resolve(await make());
        } catch {
          // The decoy there is stays; the next change tries again.
        }
      });
      return scheduled;
    },
  };
}

export type DecoyHash = ReturnType<typeof createDecoyHash>;
