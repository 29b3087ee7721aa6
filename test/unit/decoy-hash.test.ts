// Which stored parameter set the decoy hash copies: the one whose
// verification costs most (memory × passes, then memory), and how a stored
// hash's parameter part is read.
import { describe, expect, it } from 'vitest';
import { slowestParameters } from '../../src/accounts/decoy-hash.ts';
import { parseHashParameters, type PasswordHashParams } from '../../src/accounts/password-hasher.ts';

const set = (memoryCost: number, timeCost: number, parallelism = 1): PasswordHashParams => ({ memoryCost, timeCost, parallelism });

describe('slowestParameters', () => {
  const cases: [string, PasswordHashParams[], PasswordHashParams | undefined][] = [
    ['no sets', [], undefined],
    ['one set', [set(7168, 5)], set(7168, 5)],
    // OWASP's configurations, in the order measured (password-hasher.ts).
    ['47104 × 1 over 19456 × 2 over 7168 × 5', [set(7168, 5), set(47104, 1), set(19456, 2)], set(47104, 1)],
    ['19456 × 2 over 12288 × 3', [set(12288, 3), set(19456, 2)], set(19456, 2)],
    ['on equal memory × passes, the larger memory', [set(9216, 4), set(12288, 3)], set(12288, 3)],
    ['more passes at equal memory', [set(7168, 5), set(7168, 6)], set(7168, 6)],
    ['on equal memory and passes, more lanes', [set(7168, 5, 1), set(7168, 5, 2)], set(7168, 5, 2)],
    ['a weaker set than configured, alone', [set(4096, 1)], set(4096, 1)],
  ];
  for (const [label, sets, expected] of cases) {
    it(label, () => expect(slowestParameters(sets)).toEqual(expected));
  }
});

describe('parseHashParameters', () => {
  const cases: [string, PasswordHashParams | undefined][] = [
    ['$argon2id$v=19$m=19456,t=2,p=1', set(19456, 2)],
    // Other implementations write the parameters in another order.
    ['$argon2id$v=19$m=7168,p=1,t=5', set(7168, 5)],
    ['$argon2i$v=19$m=4096,t=3,p=2', set(4096, 3, 2)],
    ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', undefined],
    ['$argon2id$v=19$m=19456,t=2', undefined],
    ['$2b$12$abcdefghijklmnopqrstuv', undefined],
    ['', undefined],
  ];
  for (const [prefix, expected] of cases) {
    it(`reads ${JSON.stringify(prefix)}`, () => expect(parseHashParameters(prefix)).toEqual(expected));
  }
});
