// The rules for an account's email and display name, as pure functions so
// they can be checked without a database (a new password's: password-policy.ts).
import { InvalidInputError } from '../errors.ts';

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

export function parseDisplayName(raw: string | undefined): string | null {
  const name = raw?.trim();
  if (!name) return null;
  if (name.length > 200) throw new InvalidInputError('name is longer than 200 characters');
  // A NUL or a lone surrogate would be refused by PostgreSQL's text type (a 500); other control characters have no place in a name.
  if (!name.isWellFormed() || /\p{Cc}/u.test(name)) throw new InvalidInputError('name contains characters that are not allowed');
  return name;
}

const PICTURE_MAX_LENGTH = 2048;

/**
 * A picture URL from an upstream identity provider's claims, or null when it
 * is none to keep: only absolute https (or http) URLs without credentials,
 * of database-safe text. Upstream data, so an unfit value is dropped rather
 * than refused: a sign-in does not fail over a picture.
 */
export function parsePictureUrl(raw: string | null | undefined): string | null {
  const value = raw?.trim();
  if (!value || value.length > PICTURE_MAX_LENGTH || !value.isWellFormed() || /\p{Cc}/u.test(value)) return null;
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname || url.username || url.password) return null;
  return value;
}
