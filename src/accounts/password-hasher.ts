// Password hashing with argon2id. The default parameters are OWASP's minimum
// recommendation (19 MiB, 2 passes, 1 lane); stored hashes made with weaker
// parameters are reported by needsRehash so they can be upgraded at sign-in.
import argon2 from 'argon2';

export interface PasswordHashParams {
  /** KiB. */
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export const DEFAULT_PASSWORD_HASH_PARAMS: PasswordHashParams = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

const ARGON2_VERSION = 0x13;
// $argon2id$v=19$m=19456,p=1,t=2$<salt>$<hash>: the parameter order differs
// between implementations, so the parameters are read as a set.
const PHC = /^\$(argon2(?:id|i|d))\$v=(\d+)\$([a-z]=\d+(?:,[a-z]=\d+)*)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

interface ParsedHash {
  readonly type: string;
  readonly version: number;
  readonly m: number;
  readonly t: number;
  readonly p: number;
}

function parseHash(hash: string): ParsedHash | undefined {
  const match = PHC.exec(hash);
  if (!match) return undefined;
  const params = new Map(match[3]!.split(',').map((pair) => [pair[0]!, Number(pair.slice(2))] as const));
  const [m, t, p] = [params.get('m'), params.get('t'), params.get('p')];
  if (m === undefined || t === undefined || p === undefined) return undefined;
  return { type: match[1]!, version: Number(match[2]), m, t, p };
}

export function createPasswordHasher(params: PasswordHashParams = DEFAULT_PASSWORD_HASH_PARAMS) {
  return {
    /** An argon2id PHC string with a fresh random salt. */
    hash(password: string): Promise<string> {
      return argon2.hash(password, { type: argon2.argon2id, ...params });
    },

    /** Whether `password` matches `hash`; false, never a throw, for a malformed hash. */
    async verify(hash: string, password: string): Promise<boolean> {
      if (!parseHash(hash)) return false;
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },

    /** True when `hash` is not argon2id or was made with weaker parameters than ours. */
    needsRehash(hash: string): boolean {
      const parsed = parseHash(hash);
      return (
        !parsed ||
        parsed.type !== 'argon2id' ||
        parsed.version < ARGON2_VERSION ||
        parsed.m < params.memoryCost ||
        parsed.t < params.timeCost ||
        parsed.p < params.parallelism
      );
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
