// The rules for a new password, after NIST SP 800-63B (5.1.1.2): at least 8
// and at most 256 characters (code points), every Unicode character allowed,
// compared and hashed in NFKC form (so the same password typed on another
// keyboard or system is the same password), refused when it is among the most
// common passwords of public breach corpora, and no composition rules. The
// list is the ~49,000 most common passwords zxcvbn-ts ships
// (@zxcvbn-ts/language-common), read from the installed package: offline, and
// kept current by a maintained project rather than by us.
import { createRequire } from 'node:module';
import { PasswordRuleError } from '../errors.ts';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/**
 * Sign-in accepts passwords up to this many characters: accounts made
 * before the 256 limit may have one up to 1024, and a bound keeps a request
 * from making argon2 chew on megabytes.
 */
export const SIGN_IN_PASSWORD_MAX_LENGTH = 1024;

let common: ReadonlySet<string> | undefined;
/**
 * Loaded and built on first use (~10 ms): the package holds every zxcvbn
 * dictionary, ~10 MB in memory once loaded, which a process that never
 * checks a new password (most sign-ins, every token request) should not carry.
 */
function commonPasswords(): ReadonlySet<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    common = new Set(dictionary['passwords-common'] as string[]);
  }
  return common;
}

/** The form a password is hashed and compared in. */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Throws PasswordRuleError when `password` may not be set; never echoes it. */
export function checkNewPassword(password: string): void {
  const normalised = normalisePassword(password ?? '');
  const length = [...normalised].length;
  if (length < PASSWORD_MIN_LENGTH) throw new PasswordRuleError('too_short', `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`);
  if (length > PASSWORD_MAX_LENGTH) throw new PasswordRuleError('too_long', `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`);
  // The list is lower-case; "Password1" is as weak as "password1".
  if (commonPasswords().has(normalised.toLowerCase())) throw new PasswordRuleError('common', 'password is one of the most common passwords, which attackers try first; choose another');
}
