// The rules for argon2id's parameters: their shape, the defaults, and
// OWASP's minimum configurations. Apart from the hasher and importing
// nothing, so the configuration validates them without loading argon2's
// native module (a CLI command that never hashes does not pay for it).

export interface PasswordHashParams {
  /** KiB. */
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/**
 * OWASP's Password Storage Cheat Sheet lists these argon2id configurations
 * (KiB, passes; one lane) as "an equal level of defense", trading memory for
 * CPU passes. Anything at least one of them in both respects is accepted.
 */
export const OWASP_ARGON2ID_MINIMUMS: readonly Pick<PasswordHashParams, 'memoryCost' | 'timeCost'>[] = Object.freeze([
  { memoryCost: 47104, timeCost: 1 },
  { memoryCost: 19456, timeCost: 2 },
  { memoryCost: 12288, timeCost: 3 },
  { memoryCost: 9216, timeCost: 4 },
  { memoryCost: 7168, timeCost: 5 },
]);

/**
 * The last of OWASP's list (7 MiB, 5 passes): the same defense as the others,
 * and the least CPU and memory per check. Measured on the 2-core bench
 * machine (AMD EPYC), CPU per verification with @node-rs/argon2 (the argon2
 * package in brackets): 47104/1 21.4 ms (67.4), 19456/2 13.3 (26.5), 12288/3
 * 7.7 (19.7), 9216/4 7.7 (17.4), 7168/5 6.9 (15.3); the larger blocks cost
 * more than their passes (fresh memory to fault in, less of it in cache).
 * 7 MiB instead of 19 MiB per check in flight also keeps memory down under a
 * burst of sign-ins.
 */
export const DEFAULT_PASSWORD_HASH_PARAMS: PasswordHashParams = Object.freeze({ memoryCost: 7168, timeCost: 5, parallelism: 1 });

/** Whether the parameters are at or above one of OWASP's minimum configurations. */
export function meetsOwaspMinimum(params: PasswordHashParams): boolean {
  return params.parallelism >= 1 && OWASP_ARGON2ID_MINIMUMS.some((minimum) => params.memoryCost >= minimum.memoryCost && params.timeCost >= minimum.timeCost);
}
