// Client metadata and API resources, cached in process. Every token request
// needs both, and they change rarely, so a database round trip per request
// is pure overhead. Each instance polls one change counter per registry
// (bumped in the same transaction as every write, src/db/registry-changes.ts;
// the poll is dropIfChanged, run by startPeriodic in the composition root)
// and drops its cache the moment either moves: a client deleted or a secret
// rotated through any instance or the CLI stops working everywhere within one
// watch interval. Unknown ids are cached too (as absent), so random
// client_ids cannot hammer the database; the TTL is only a safety net for
// rows changed behind Latchkey's back (raw SQL).
import { LRUCache } from 'lru-cache';
import type { ClientMetadataSource } from './client-metadata.ts';
import type { ResourceDefinition, ResourceLookup } from './resource-indicators.ts';

interface Marked {
  changeMarker(): Promise<string>;
}

export interface RegistryCacheDeps {
  readonly clients: ClientMetadataSource & Marked;
  readonly resources: ResourceLookup & Marked;
  /** Longest an entry is served without a reload, whatever the markers say. */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

const ABSENT = Symbol('absent');
type Entry<T> = T | typeof ABSENT;

function cachedLookup<T extends object>(load: (key: string) => Promise<T | undefined>, options: { ttl: number; max: number }) {
  // Promises are cached, so concurrent misses for one key share one query.
  const cache = new LRUCache<string, Promise<Entry<T>>>({ max: options.max, ttl: options.ttl });
  return {
    async get(key: string): Promise<T | undefined> {
      let pending = cache.get(key);
      if (!pending) {
        pending = load(key).then((value) => value ?? ABSENT);
        cache.set(key, pending);
        // A failed load (database down) must not be remembered.
        pending.catch(() => cache.delete(key));
      }
      const value = await pending;
      return value === ABSENT ? undefined : value;
    },
    clear: () => cache.clear(),
  };
}

export async function createRegistryCache(deps: RegistryCacheDeps) {
  const options = { ttl: deps.ttlMs ?? 60_000, max: deps.maxEntries ?? 10_000 };
  const clients = cachedLookup((id) => deps.clients.findProviderMetadata(id), options);
  const resources = cachedLookup<ResourceDefinition>((identifier) => deps.resources.findByIdentifier(identifier), options);

  const readMarker = async () => `${await deps.clients.changeMarker()}|${await deps.resources.changeMarker()}`;
  // Read before anything is cached: a change after this point is seen by the first check.
  let marker = await readMarker();

  return {
    clients: { findProviderMetadata: (id: string) => clients.get(id) } satisfies ClientMetadataSource,
    resources: { findByIdentifier: (identifier: string) => resources.get(identifier) } satisfies ResourceLookup,
    /** Reads the change markers and drops both caches if either moved: the watcher's run (startPeriodic). */
    async dropIfChanged(): Promise<void> {
      const next = await readMarker();
      if (next !== marker) {
        marker = next;
        clients.clear();
        resources.clear();
      }
    },
  };
}

export type RegistryCache = Awaited<ReturnType<typeof createRegistryCache>>;
