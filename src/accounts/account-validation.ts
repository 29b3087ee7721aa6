// The rules for an account's email and password, as pure functions so they
// can be checked without a database.
import { InvalidInputError } from '../errors.ts';

export const PASSWORD_MIN_LENGTH = 8;
// Bounded so a request cannot make argon2 chew on megabytes.
export const PASSWORD_MAX_LENGTH = 1024;
export const EMAIL_MAX_LENGTH = 254;
// A deliberately basic check: one @, no spaces or control characters (a NUL
// is refused by PostgreSQL's text type), a non-empty local part and a domain
// of non-empty dot-separated labels. Deliverability is not provable here.
const EMAIL = /^[^\s\p{Cc}@]{1,64}@[^\s\p{Cc}@.]+(\.[^\s\p{Cc}@.]+)*$/u;

/**
 * Trimmed and lower-cased: stored this way, the unique index makes emails
 * case-insensitive on SQLite and PostgreSQL alike.
 */
export function normaliseEmail(raw: string): string {
  const email = (raw ?? '').trim().toLowerCase();
  if (!email) throw new InvalidInputError('email is required');
  if (email.length > EMAIL_MAX_LENGTH || !email.isWellFormed() || !EMAIL.test(email)) {
    throw new InvalidInputError(`"${email}" is not a valid email address`);
  }
  return email;
}

/** Throws when the password is outside the allowed length; never echoes it. */
export function checkPassword(password: string): void {
  const length = [...(password ?? '')].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInputError(`password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`);
  }
}

export function parseDisplayName(raw: string | undefined): string | null {
  const name = raw?.trim();
  if (!name) return null;
  if (name.length > 200) throw new InvalidInputError('name is longer than 200 characters');
  return name;
}
