// A bounded, in-memory record of the DPoP proofs (by key thumbprint and jti)
// this verifier has accepted, each kept until its proof would be too old to
// be accepted anyway. Per verifier, so per process: a proof replayed to
// another instance of the resource server is not caught here (RFC 9449 §11.1
// leaves the scope of the check to the server). When full, the oldest entry
// goes first: the bound keeps memory flat under a flood, at the cost of
// forgetting the oldest proofs early.
export interface ReplayCache {
  /** Records `id` until `expiresAt` (ms); false when it is already recorded and unexpired. */
  add(id: string, expiresAt: number): boolean;
  readonly size: number;
}

export function createReplayCache(maxEntries: number, now: () => number): ReplayCache {
  // A Map iterates in insertion order: its first entry is the oldest.
  const entries = new Map<string, number>();
  return {
    add(id, expiresAt) {
      const at = now();
      const seen = entries.get(id);
      if (seen !== undefined && seen > at) return false;
      entries.delete(id);
      for (const [oldest, expiry] of entries) {
        if (entries.size < maxEntries && expiry > at) break;
        entries.delete(oldest);
      }
      entries.set(id, expiresAt);
      return true;
    },
    get size() {
      return entries.size;
    },
  };
}
