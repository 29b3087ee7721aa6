// Password hashing with argon2id, at one of OWASP's minimum configurations
// or above (configurable: config.ts; the rules: password-hash-params.ts).
// Stored hashes made with any other parameters than the configured ones,
// weaker or stronger, are reported by needsRehash, so they are re-made at the
// next sign-in: every hash converges on one parameter set, and so does the
// decoy an unknown email is checked against (decoy-hash.ts), so response time
// does not tell accounts apart.
//
// @node-rs/argon2 (a Rust implementation, prebuilt by napi-rs) rather than
// the `argon2` package (the reference C code, built for SSE2 only): the same
// PHC strings either way, and on the 2-core bench machine it costs 7–8 ms of CPU
// per 7 MiB × 5 check instead of 15–21 ms. A sign-in is mostly this check.
import { hash as argon2Hash, verify as argon2Verify, type Algorithm } from '@node-rs/argon2';
import { DEFAULT_PASSWORD_HASH_PARAMS, type PasswordHashParams } from './password-hash-params.ts';

// Re-exported for the callers that hash: the parameter rules live apart, so config can load them without argon2.
export type { PasswordHashParams };

const ARGON2_VERSION = 0x13;
// The package's Algorithm is a TypeScript const enum, which isolated modules
// cannot read at compile time; 2 is its Argon2id.
const ARGON2ID = 2 as Algorithm.Argon2id;
// $argon2id$v=19$m=19456,p=1,t=2$<salt>$<hash>: the parameter order differs
// between implementations, so the parameters are read as a set.
const PHC_PARAMETERS = String.raw`^\$(argon2(?:id|i|d))\$v=(\d+)\$([a-z]=\d+(?:,[a-z]=\d+)*)`;
const PHC = new RegExp(`${PHC_PARAMETERS}\\$[A-Za-z0-9+/]+\\$[A-Za-z0-9+/]+$`);
/** The part of a PHC string before the salt: `$argon2id$v=19$m=19456,t=2,p=1`. */
const PHC_PREFIX = new RegExp(`${PHC_PARAMETERS}$`);

interface ParsedHash {
  readonly type: string;
  readonly version: number;
  readonly m: number;
  readonly t: number;
  readonly p: number;
}

function parseHash(hash: string, format = PHC): ParsedHash | undefined {
  const match = format.exec(hash);
  if (!match) return undefined;
  const params = new Map(match[3]!.split(',').map((pair) => [pair[0]!, Number(pair.slice(2))] as const));
  const [m, t, p] = [params.get('m'), params.get('t'), params.get('p')];
  if (m === undefined || t === undefined || p === undefined) return undefined;
  return { type: match[1]!, version: Number(match[2]), m, t, p };
}

/**
 * The argon2 parameters of a PHC string's parameter part (what comes before
 * the salt, as AccountRepository.passwordHashParameterSets reads it), or
 * undefined when it is not one.
 */
export function parseHashParameters(prefix: string): PasswordHashParams | undefined {
  const parsed = parseHash(prefix, PHC_PREFIX);
  return parsed && { memoryCost: parsed.m, timeCost: parsed.t, parallelism: parsed.p };
}

export function createPasswordHasher(params: PasswordHashParams = DEFAULT_PASSWORD_HASH_PARAMS) {
  return {
    /** The parameters new hashes are made with. */
    parameters: params,

    /** An argon2id PHC string with a fresh random salt; `other` parameters only for a decoy (decoy-hash.ts). */
    hash(password: string, other: PasswordHashParams = params): Promise<string> {
      return argon2Hash(password, { algorithm: ARGON2ID, ...other });
    },

    /** Whether `password` matches `hash`; false, never a throw, for a malformed hash. */
    async verify(hash: string, password: string): Promise<boolean> {
      if (!parseHash(hash)) return false;
      try {
        return await argon2Verify(hash, password);
      } catch {
        return false;
      }
    },

    /**
     * True when `hash` is not argon2id, or was made with other parameters
     * than ours (memory, passes, lanes), stronger ones included: a hash
     * slower than the configured ones would tell its account apart by time.
     */
    needsRehash(hash: string): boolean {
      const parsed = parseHash(hash);
      return (
        !parsed ||
        parsed.type !== 'argon2id' ||
        parsed.version !== ARGON2_VERSION ||
        parsed.m !== params.memoryCost ||
        parsed.t !== params.timeCost ||
        parsed.p !== params.parallelism
      );
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
