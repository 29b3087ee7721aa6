// A per-key token bucket held in this process: `perMinute` requests at once,
// then one every 60/perMinute seconds. For bounding how fast one client
// address may make Latchkey store something (not for brute-force counting,
// which every instance must share: throttle-service.ts); per instance, so N
// instances allow N times the rate, which keeps it a bound and costs no
// database round trip.
import { LRUCache } from 'lru-cache';

export interface RateLimitOptions {
  /** Requests a key may make in a burst, and per minute after that. */
  readonly perMinute: number;
  /** Keys remembered at most (least recently used forgotten first: they get a full bucket). */
  readonly maxKeys?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export type RateVerdict = { readonly allowed: true } | { readonly allowed: false; /** Whole seconds until the next request would be allowed. */ readonly retryAfter: number };

export function createRateLimit({ perMinute, maxKeys = 100_000, now = Date.now }: RateLimitOptions) {
  if (!Number.isInteger(perMinute) || perMinute < 1) throw new RangeError('perMinute must be a whole number of at least 1');
  const msPerToken = 60_000 / perMinute;
  // A bucket is full again after a minute, so a key idle that long need not be remembered.
  const buckets = new LRUCache<string, { tokens: number; at: number }>({ max: maxKeys, ttl: 60_000, updateAgeOnGet: false });

  return {
    /** Takes one request from `key`'s bucket, or says when there will be one. */
    take(key: string): RateVerdict {
      const at = now();
      const bucket = buckets.get(key);
      const tokens = bucket ? Math.min(perMinute, bucket.tokens + (at - bucket.at) / msPerToken) : perMinute;
      if (tokens < 1) {
        buckets.set(key, { tokens, at });
        return { allowed: false, retryAfter: Math.max(1, Math.ceil(((1 - tokens) * msPerToken) / 1000)) };
      }
      buckets.set(key, { tokens: tokens - 1, at });
      return { allowed: true };
    },
  };
}

export type RateLimit = ReturnType<typeof createRateLimit>;
