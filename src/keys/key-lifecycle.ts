// The timeline of a signing key as pure functions of its row and the clock:
// when it signs, when a newer key took over, when no unexpired token can carry
// it any more, and when its algorithm is due for rotation. The key service,
// the rotation service and the key-set watcher all decide from these, so they
// agree on every instant.

/** The columns of a SigningKey row the timeline depends on (no key material). */
export interface KeyTimeline {
  readonly kid: string;
  readonly alg: string;
  readonly state: string;
  readonly activatesAt: Date | null;
  readonly retiredAt: Date | null;
  readonly createdAt: Date;
}

/** What a key is at an instant: a published key whose activatesAt has passed is 'active'. */
export type EffectiveState = 'published' | 'active' | 'retired';

export function isActive(key: Pick<KeyTimeline, 'state' | 'activatesAt'>, at: Date): boolean {
  return key.state === 'active' || (key.state === 'published' && key.activatesAt !== null && key.activatesAt <= at);
}

export function effectiveState(key: KeyTimeline, at: Date): EffectiveState {
  if (key.state === 'retired') return 'retired';
  return isActive(key, at) ? 'active' : 'published';
}

/** When a key started (or will start) signing: its activatesAt, or its creation for keys born active. */
export function activeSince(key: Pick<KeyTimeline, 'activatesAt' | 'createdAt'>): number {
  return (key.activatesAt ?? key.createdAt).getTime();
}

/**
 * Order of preference among the live keys of one algorithm: active keys first,
 * the most recently activated first. oidc-provider signs with the first key of
 * an alg it is given, so the first key in this order is the signing key.
 */
export function compareForSigning(a: KeyTimeline, b: KeyTimeline, at: Date): number {
  return (
    Number(isActive(b, at)) - Number(isActive(a, at)) ||
    activeSince(b) - activeSince(a) ||
    b.createdAt.getTime() - a.createdAt.getTime() ||
    a.kid.localeCompare(b.kid)
  );
}

const liveOfAlg = (keys: readonly KeyTimeline[], alg: string) => keys.filter((key) => key.alg === alg && key.state !== 'retired');

/** The key tokens of `alg` are signed with at `at`, if any. */
export function signingKeyFor<K extends KeyTimeline>(keys: readonly K[], alg: string, at: Date): K | undefined {
  const [first] = [...liveOfAlg(keys, alg)].sort((a, b) => compareForSigning(a, b, at)) as K[];
  return first && isActive(first, at) ? first : undefined;
}

/**
 * From when `key` has certainly not signed: the earliest activation among the
 * live keys of its alg that outrank it now. Those keys have outranked it ever
 * since they activated (retirement is final), so this is an upper bound on the
 * last time `key` signed, even when a newer key in between was retired. Null
 * while `key` is the signing key (or has never signed).
 */
export function supersededAt(key: KeyTimeline, keys: readonly KeyTimeline[], at: Date): Date | null {
  if (!isActive(key, at)) return null;
  const outranking = liveOfAlg(keys, key.alg).filter((other) => other.kid !== key.kid && isActive(other, at) && compareForSigning(other, key, at) < 0);
  if (outranking.length === 0) return null;
  return new Date(Math.min(...outranking.map(activeSince)));
}

/**
 * When `key` may leave the JWKS: `graceMs` (the longest lifetime of a token
 * it could have signed) after it stopped signing. A key that never signed may
 * go at once; the signing key cannot go at all (null), nor can a retired one.
 */
export function retirableAt(key: KeyTimeline, keys: readonly KeyTimeline[], at: Date, graceMs: number): Date | null {
  if (key.state === 'retired') return null;
  if (!isActive(key, at)) return key.createdAt;
  const since = supersededAt(key, keys, at);
  return since ? new Date(since.getTime() + graceMs) : null;
}

/** A published key of `alg` waiting for its activatesAt, if there is one. */
export function pendingKeyFor<K extends KeyTimeline>(keys: readonly K[], alg: string, at: Date): K | undefined {
  return keys.find((key) => key.alg === alg && key.state === 'published' && !isActive(key, at));
}

/**
 * Whether `alg` is due for automatic rotation: its most recently activated
 * live key has been signing for `maxAgeMs` or more, and no replacement is
 * already waiting to activate.
 */
export function rotationDue(keys: readonly KeyTimeline[], alg: string, at: Date, maxAgeMs: number): boolean {
  const live = liveOfAlg(keys, alg);
  if (live.length === 0 || pendingKeyFor(live, alg, at)) return false;
  const newest = Math.max(...live.map(activeSince));
  return at.getTime() - newest >= maxAgeMs;
}
