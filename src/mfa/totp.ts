// The TOTP rules (RFC 6238) in one place: what authenticator apps read
// (SHA-1, 6 digits, 30-second steps: Google Authenticator, 1Password and
// Aegis take nothing else reliably), the otpauth:// URI they scan, and which
// time step a typed code belongs to, ±1 step for clock drift. Pure: the
// "once only" rule (a step at or before the last used one is refused) is the
// service's, against the stored last step.
import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
/** Steps either side of now that a code may come from: one, so a clock 30 s off still works. */
const DRIFT_WINDOW = 1;
/** 160 bits, the HMAC-SHA-1 key size RFC 4226 recommends. */
const SECRET_BYTES = 20;

export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

function totp(secret: string, label = '', issuer = ''): TOTP {
  return new TOTP({ issuer, label, issuerInLabel: issuer !== '', secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, period: PERIOD });
}

/** The otpauth:// URI an app scans: issuer = the issuer's host, label = the account's email. */
export function totpUri(secret: string, options: { issuer: string; label: string }): string {
  return totp(secret, options.label, options.issuer).toString();
}

/** A typed code with spaces taken out, if it has the form of a code at all. */
export function normaliseTotpCode(code: string): string | undefined {
  const digits = code.replace(/\s+/g, '');
  return /^\d{6}$/.test(digits) ? digits : undefined;
}

/** The time step `code` is valid for at `now` (ms), within ±1 step; undefined for a wrong code. */
export function totpStep(secret: string, code: string, now: number): number | undefined {
  const normalised = normaliseTotpCode(code);
  if (!normalised) return undefined;
  const delta = totp(secret).validate({ token: normalised, timestamp: now, window: DRIFT_WINDOW });
  if (delta === null) return undefined;
  return TOTP.counter({ period: PERIOD, timestamp: now }) + delta;
}
