// Brute-force back-off, shared by every instance through the database: check
// keys before an attempt, count a failed attempt, clear what a success clears.
// The rules and numbers are in throttle-policy.ts.
//
// Why the database and not Redis: every instance already shares it, both
// dialects add one to a counter atomically (`failures = failures + 1` in an
// upsert), and it is one less service to run and secure. A Redis backend could
// implement the same repository later if the write rate ever called for it.
import type { ThrottleKey } from './throttle-keys.ts';
import { blockSeconds, THROTTLE_POLICIES, type ThrottlePolicy, type ThrottleScope } from './throttle-policy.ts';
import type { ThrottleRepository } from './throttle-repository.ts';

export interface ThrottleVerdict {
  readonly allowed: boolean;
  /** Whole seconds until every key is unblocked; 0 when allowed. */
  readonly retryAfter: number;
  /** The scope of the key blocked longest, when not allowed. */
  readonly blockedBy?: ThrottleScope;
  /** The scopes of every key blocked now (empty when allowed). */
  readonly blocked: readonly ThrottleScope[];
  /** The keys that have failures on record: a success needs to clear only these. */
  readonly counted: readonly ThrottleKey[];
}

export interface ThrottleServiceDeps {
  readonly repository: ThrottleRepository;
  readonly policies?: Readonly<Record<ThrottleScope, ThrottlePolicy>>;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

const storageKey = (key: ThrottleKey) => `${key.scope}:${key.id}`;

export function createThrottleService({ repository, policies = THROTTLE_POLICIES, now = Date.now }: ThrottleServiceDeps) {
  const longestForget = Math.max(...Object.values(policies).map((policy) => policy.forgetAfter));

  return {
    /** Whether an attempt counted under `keys` may go ahead now. */
    async check(keys: readonly ThrottleKey[]): Promise<ThrottleVerdict> {
      const at = now();
      const rows = new Map((await repository.findMany(keys.map(storageKey))).map((row) => [row.key, row]));
      let retryAfter = 0;
      let blockedBy: ThrottleScope | undefined;
      const blocked: ThrottleScope[] = [];
      const counted: ThrottleKey[] = [];
      for (const key of keys) {
        const row = rows.get(storageKey(key));
        if (!row) continue;
        if (row.failures > 0) counted.push(key);
        const remaining = row.blockedUntil ? Math.ceil((row.blockedUntil.getTime() - at) / 1000) : 0;
        if (remaining > 0) blocked.push(key.scope);
        if (remaining > retryAfter) {
          retryAfter = remaining;
          blockedBy = key.scope;
        }
      }
      return blockedBy ? { allowed: false, retryAfter, blockedBy, blocked, counted } : { allowed: true, retryAfter: 0, blocked, counted };
    },

    /**
     * Counts one failed attempt against each key, and blocks the keys that
     * reached their back-off. Resolves to the longest block started, in seconds.
     */
    async fail(keys: readonly ThrottleKey[]): Promise<number> {
      const at = now();
      const blocks = await Promise.all(
        keys.map(async (key) => {
          const policy = policies[key.scope];
          const name = storageKey(key);
          await repository.forgetIfIdle(name, new Date(at - policy.forgetAfter * 1000), new Date(at));
          const { failures } = await repository.addFailure(name, new Date(at));
          const seconds = blockSeconds(policy, failures);
          if (seconds > 0) await repository.extendBlock(name, new Date(at + seconds * 1000), new Date(at));
          return seconds;
        }),
      );
      return Math.max(0, ...blocks);
    },

    /** After a success: clears the keys whose policy a success clears (the others keep counting). */
    async succeed(keys: readonly ThrottleKey[]): Promise<void> {
      await repository.deleteMany(keys.filter((key) => policies[key.scope].clearedBySuccess).map(storageKey));
    },

    /** Deletes keys idle for longer than any policy remembers failures; resolves to how many. */
    purgeIdle(limit?: number): Promise<number> {
      const at = now();
      return repository.purgeIdle(new Date(at - longestForget * 1000), new Date(at), limit);
    },
  };
}

export type ThrottleService = ReturnType<typeof createThrottleService>;
