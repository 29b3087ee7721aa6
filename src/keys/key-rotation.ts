// The rules for changing the key set while tokens are in flight: a new key is
// published before it signs (so verifier caches learn it first), and an old
// key leaves the JWKS only once no unexpired token can carry its kid. Manual
// rotation (`latchkey keys …`) and the optional schedule use the same rules,
// and every change is decided under the key-set lock, so concurrent instances
// and CLI runs never both rotate, nor retire the last key of an algorithm.
import type { Config } from '../config/config.ts';
import { AlreadyExistsError, InvalidInputError, KeyInUseError, NotFoundError } from '../errors.ts';
import { MAX_ACCESS_TOKEN_TTL } from '../resources/resource-validation.ts';
import {
  effectiveState,
  isActive,
  pendingKeyFor,
  retirableAt,
  rotationDue,
  signingKeyFor,
  supersededAt,
  type KeyTimeline,
} from './key-lifecycle.ts';
import type { KeyQueries, KeyRepository, NewSigningKey } from './key-repository.ts';
import { createKeyService, generateSigningKey, SIGNING_ALGS, type SigningAlg } from './key-service.ts';
import type { Sealer } from './sealing.ts';

export interface KeyRotationPolicy {
  /** Seconds a rotated-in key is published before it signs (when the caller names no delay). */
  readonly activationDelaySec: number;
  /** Seconds after a key stopped signing until no token it signed can still be unexpired. */
  readonly retireGraceSec: number;
  /** Automatic rotation once a key has signed this many days; 0 = off. */
  readonly rotationDays: number;
}

/** Clock skew between instances and verifiers (@latchkey/verify allows up to 60 s), with room to spare. */
const CLOCK_MARGIN_SEC = 300;
const MAX_ACTIVATION_DELAY_SEC = 30 * 24 * 3600;
const DAY_MS = 24 * 3600 * 1000;

/**
 * The retirement grace: the longest lifetime of anything signed with our keys
 * that a relying party may still verify. That is the largest of the
 * access-token TTL any resource may be given (MAX_ACCESS_TOKEN_TTL, not the
 * TTLs registered today: a resource deleted since may have issued long-lived
 * tokens), the default and client-credentials access-token TTLs, and the ID
 * token TTL; plus one watch interval (an instance may sign with the old key
 * until it notices the change) and a margin for clock skew.
 */
export function retirementGraceSeconds(config: Pick<Config, 'ttl' | 'keys'>): number {
  const { ttl } = config;
  return Math.max(MAX_ACCESS_TOKEN_TTL, ttl.accessToken, ttl.clientCredentials, ttl.idToken) + config.keys.watchInterval + CLOCK_MARGIN_SEC;
}

export function rotationPolicy(config: Pick<Config, 'ttl' | 'keys'>): KeyRotationPolicy {
  return {
    activationDelaySec: config.keys.activationDelay,
    retireGraceSec: retirementGraceSeconds(config),
    rotationDays: config.keys.rotationDays,
  };
}

export interface KeyStatus {
  readonly kid: string;
  readonly alg: string;
  /** The state in effect now ('published', 'active' or 'retired'). */
  readonly state: string;
  /** Whether tokens of this alg are signed with this key now. */
  readonly signing: boolean;
  readonly createdAt: Date;
  readonly activatesAt: Date | null;
  /** From when a newer key signs instead (null while this one signs, or never signed). */
  readonly supersededAt: Date | null;
  /** From when `keys retire` accepts it without --force (null: not while it signs, or already retired). */
  readonly retirableAt: Date | null;
  readonly retiredAt: Date | null;
}

export interface RotateInput {
  /** Default ES256, the access-token default. */
  readonly alg?: string;
  /** Seconds until the new key signs; default the policy's activation delay. */
  readonly activateAfterSec?: number;
}

export interface RetireResult {
  readonly key: KeyStatus;
  /** True when --force retired a key that unexpired tokens may still carry. */
  readonly forced: boolean;
}

export interface MaintenanceResult {
  readonly rotated: readonly KeyStatus[];
  readonly retired: readonly KeyStatus[];
}

export interface KeyRotationDeps {
  readonly keys: KeyRepository;
  readonly sealer: Sealer;
  readonly policy: KeyRotationPolicy;
  readonly now?: () => Date;
}

export function createKeyRotationService(deps: KeyRotationDeps) {
  const { keys, sealer, policy } = deps;
  const now = deps.now ?? (() => new Date());
  const graceMs = policy.retireGraceSec * 1000;
  // Opening the keys already there proves this process has the right master
  // secret: a key sealed under a wrong one would be published to nobody, and
  // would make every instance's reload fail.
  const keysOpen = () => createKeyService({ keys, sealer, now }).reload();

  const status = (key: KeyTimeline, all: readonly KeyTimeline[], at: Date): KeyStatus => ({
    kid: key.kid,
    alg: key.alg,
    state: effectiveState(key, at),
    signing: signingKeyFor(all, key.alg, at)?.kid === key.kid,
    createdAt: key.createdAt,
    activatesAt: key.activatesAt,
    supersededAt: supersededAt(key, all, at),
    retirableAt: retirableAt(key, all, at, graceMs),
    retiredAt: key.retiredAt,
  });

  async function statusOf(queries: KeyQueries, kid: string, at: Date): Promise<KeyStatus> {
    const all = await queries.listKeyTimelines();
    return status(all.find((key) => key.kid === kid)!, all, at);
  }

  /** Keys whose grace after being superseded has run out: what the schedule retires. */
  const expiredKeys = (all: readonly KeyTimeline[], at: Date) =>
    all.filter((key) => {
      const since = isActive(key, at) ? supersededAt(key, all, at) : null;
      return since !== null && since.getTime() + graceMs <= at.getTime();
    });

  const dueAlgs = (all: readonly KeyTimeline[], at: Date): SigningAlg[] =>
    policy.rotationDays > 0 ? SIGNING_ALGS.filter((alg) => rotationDue(all, alg, at, policy.rotationDays * DAY_MS)) : [];

  return {
    /** Every signing key with its timeline, newest first. */
    async list(): Promise<KeyStatus[]> {
      const at = now();
      const all = await keys.listKeyTimelines();
      return all.map((key) => status(key, all, at));
    },

    /**
     * Publishes a new key for `alg` that starts signing after the activation
     * delay. Refused while another rotation of that alg is still waiting to
     * activate: two pending keys would leave it unclear which one signs next.
     */
    async rotate(input: RotateInput = {}): Promise<KeyStatus> {
      const alg = parseAlg(input.alg ?? 'ES256');
      const delaySec = parseDelay(input.activateAfterSec ?? policy.activationDelaySec);
      await keysOpen();
      // RSA generation takes long enough that it stays out of the locked transaction.
      const prepared = await generateSigningKey(alg, sealer, now());
      return keys.withKeySetLock(async (locked) => {
        const at = now();
        const all = await locked.listKeyTimelines();
        if (!signingKeyFor(all, alg, at)) {
          // A lone published key would also stop the server from creating the first active one (ensureKeys).
          throw new NotFoundError(`there is no active ${alg} key to rotate yet; the server creates the first keys when it first starts`);
        }
        const pending = pendingKeyFor(all, alg, at);
        if (pending) {
          const when = pending.activatesAt ? `activates at ${pending.activatesAt.toISOString()}` : 'has no activation time';
          throw new AlreadyExistsError(`a rotation of ${alg} is already pending: key ${pending.kid} ${when}; retire it first to replace it`);
        }
        await locked.insertSigningKeys([published(prepared, at, delaySec)]);
        return statusOf(locked, prepared.kid, at);
      });
    },

    /**
     * Takes a key out of the JWKS. Refused (KeyInUseError) while it signs, or
     * while tokens it signed may be unexpired, unless `force`; never allowed
     * for the only active key of its alg, which would leave nothing to sign with.
     */
    async retire(kid: string, options: { force?: boolean } = {}): Promise<RetireResult> {
      const force = options.force === true;
      return keys.withKeySetLock(async (locked) => {
        const at = now();
        const all = await locked.listKeyTimelines();
        const key = all.find((row) => row.kid === kid);
        if (!key) throw new NotFoundError(`no signing key with kid ${kid}; see \`latchkey keys list\``);
        if (key.state === 'retired') throw new InvalidInputError(`key ${kid} is already retired`);

        const current = status(key, all, at);
        if (current.signing) {
          const others = all.filter((row) => row.alg === key.alg && row.kid !== kid && row.state !== 'retired' && isActive(row, at));
          if (others.length === 0) {
            throw new KeyInUseError(
              `key ${kid} is the only active ${key.alg} key and cannot be retired, even with --force; ` +
                `publish a replacement first (\`latchkey keys rotate --alg ${key.alg} --activate-after 0\` in an emergency)`,
            );
          }
          if (!force) {
            throw new KeyInUseError(`key ${kid} is the signing key for ${key.alg}; rotate first (\`latchkey keys rotate --alg ${key.alg}\`), or pass --force to stop trusting it now`);
          }
        } else if (current.retirableAt && current.retirableAt > at && !force) {
          throw new KeyInUseError(
            `key ${kid} stopped signing at ${current.supersededAt!.toISOString()}; tokens it signed may be valid until ` +
              `${current.retirableAt.toISOString()} (grace ${policy.retireGraceSec} s). Retire it after that, or pass --force to invalidate them now`,
          );
        }
        const forced = current.retirableAt === null || current.retirableAt > at;
        await locked.retireSigningKey(kid, at);
        return { key: await statusOf(locked, kid, at), forced };
      });
    },

    /** Whether the schedule has work to do on these rows: a cheap, lock-free pre-check. */
    maintenanceDue(all: readonly KeyTimeline[], at: Date = now()): boolean {
      return policy.rotationDays > 0 && (dueAlgs(all, at).length > 0 || expiredKeys(all, at).length > 0);
    },

    /**
     * The schedule (LATCHKEY_KEY_ROTATION_DAYS): rotates every alg whose key
     * is old enough, and retires superseded keys whose grace has run out. The
     * decision is re-made under the key-set lock, so when many instances run
     * it at once, exactly one rotates and the others find nothing to do.
     */
    async runMaintenance(): Promise<MaintenanceResult> {
      if (policy.rotationDays <= 0) return { rotated: [], retired: [] };
      const candidates = dueAlgs(await keys.listKeyTimelines(), now());
      if (candidates.length) await keysOpen();
      const prepared = new Map<SigningAlg, NewSigningKey>();
      for (const alg of candidates) prepared.set(alg, await generateSigningKey(alg, sealer, now()));

      return keys.withKeySetLock(async (locked) => {
        const at = now();
        const all = await locked.listKeyTimelines();
        const rotate = dueAlgs(all, at).filter((alg) => prepared.has(alg));
        const retire = expiredKeys(all, at);
        await locked.insertSigningKeys(rotate.map((alg) => published(prepared.get(alg)!, at, policy.activationDelaySec)));
        for (const key of retire) await locked.retireSigningKey(key.kid, at);
        const after = await locked.listKeyTimelines();
        const find = (kid: string) => status(after.find((key) => key.kid === kid)!, after, at);
        return { rotated: rotate.map((alg) => find(prepared.get(alg)!.kid)), retired: retire.map((key) => find(key.kid)) };
      });
    },
  };
}

export type KeyRotationService = ReturnType<typeof createKeyRotationService>;

function published(key: NewSigningKey, at: Date, delaySec: number): NewSigningKey {
  return { ...key, state: 'published', createdAt: at, activatesAt: new Date(at.getTime() + delaySec * 1000) };
}

function parseAlg(value: string): SigningAlg {
  if (!(SIGNING_ALGS as readonly string[]).includes(value)) {
    throw new InvalidInputError(`signing algorithm "${value}" is not one of ${SIGNING_ALGS.join(', ')}`);
  }
  return value as SigningAlg;
}

function parseDelay(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_ACTIVATION_DELAY_SEC) {
    throw new InvalidInputError(`the activation delay must be a whole number of seconds from 0 to ${MAX_ACTIVATION_DELAY_SEC}`);
  }
  return value;
}
