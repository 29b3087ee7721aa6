// Recovery codes: ten random codes, shown once, kept only as SHA-256
// digests. Each code is 80 random bits (16 base32 characters, shown in four
// groups of four), not something a person chose, so no dictionary applies
// and a slow password hash would add nothing: the digest alone cannot be
// turned back into a code. Typing is forgiving: case, spaces and dashes are
// ignored.
import { createHash, randomBytes } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
/** RFC 4648 base32 without padding: no 0/1/8/9, so fewer misreadings. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const CODE_LENGTH = 16;

/** A fresh code, as shown: XXXX-XXXX-XXXX-XXXX. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  // 256 is a multiple of 32: every character equally likely.
  const chars = [...bytes].map((byte) => ALPHABET[byte % 32]!).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** The code's canonical form (upper case, no separators), if it can be a code at all. */
export function normaliseRecoveryCode(typed: string): string | undefined {
  const code = typed.replace(/[\s-]+/g, '').toUpperCase();
  return code.length === CODE_LENGTH && [...code].every((char) => ALPHABET.includes(char)) ? code : undefined;
}

export function recoveryCodeHash(normalised: string): string {
  return createHash('sha256').update(normalised, 'utf8').digest('base64url');
}
