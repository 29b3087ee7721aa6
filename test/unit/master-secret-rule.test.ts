// LATCHKEY_SECRET must be at least 32 random bytes, hex- or base64-encoded:
// the secret is stretched with HKDF only, so a passphrase would make every
// sealed private key guessable offline from a database dump. Each refusal
// stops start-up with one line naming the variable, saying why, and saying
// what to do instead.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { generateMasterSecret } from '../../src/config/master-secret-rule.ts';
import { ConfigError } from '../../src/errors.ts';

const HOW_TO =
  'generate one with `latchkey secret generate` (or `openssl rand -base64 32`); to replace a secret already in use, see `latchkey secret rotate`';
const NOT_ENCODED = `LATCHKEY_SECRET: must be at least 32 random bytes, hex- or base64-encoded; it has characters no such encoding has (a passphrase?); ${HOW_TO}`;
const TEXT_LIKE = `LATCHKEY_SECRET: does not look random: it reads like typed text (words, names, numbers); ${HOW_TO}`;
const repeats = (distinct: number, of: number) => `LATCHKEY_SECRET: does not look random: it repeats too few different characters (${distinct} of ${of}); ${HOW_TO}`;
const tooShort = (bytes: number) => `LATCHKEY_SECRET: must be at least 32 random bytes, hex- or base64-encoded; it encodes only ${bytes}; ${HOW_TO}`;

function refusal(secret: string): string {
  try {
    loadConfig({ LATCHKEY_SECRET: secret });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('LATCHKEY_SECRET');
    return (error as Error).message;
  }
  throw new Error('expected LATCHKEY_SECRET to be refused, it was accepted');
}

describe('LATCHKEY_SECRET must be high-entropy', () => {
  it.each([
    ['a passphrase with spaces', 'correct horse battery staple and more words here', NOT_ENCODED],
    ['a sentence with punctuation', 'My Latchkey secret, 2026: do not share it!!', NOT_ENCODED],
    ['words joined by dashes, with a counting run', 'audit-cli-test-master-secret-0123456789abcdef', TEXT_LIKE],
    ['words joined by dashes', 'a-master-secret-that-is-long-enough-0123456789', TEXT_LIKE],
    ['CamelCase words', 'CorrectHorseBatteryStapleIsMyFavouriteSecret', TEXT_LIKE],
    ['CamelCase words and a year', 'MyCompanyLatchkeyProductionSecret2026Password', TEXT_LIKE],
    ['one repeated word, run together', 'correcthorsebatterystaplecorrecthorsebattery', repeats(12, 44)],
    ['a repeated word and year', 'Summer2026Summer2026Summer2026Summer2026Summer', repeats(8, 46)],
    ['one character, 44 times', 'p'.repeat(44), repeats(1, 44)],
    ['hex counting', '0123456789abcdef'.repeat(4), TEXT_LIKE],
    ['hex that repeats', 'deadbeef'.repeat(8), repeats(5, 64)],
    ['40 characters that decode to 30 bytes', 'x'.repeat(40), tooShort(30)],
    ['31 random bytes', randomBytes(31).toString('base64url'), tooShort(31)],
    ['31 random bytes in hex', randomBytes(31).toString('hex'), tooShort(31)],
  ])('refuses %s', (_name, secret, message) => {
    expect(refusal(secret)).toBe(message);
  });

  it('never quotes the secret in the message', () => {
    const secret = 'MyCompanyLatchkeyProductionSecret2026Password';
    expect(refusal(secret)).not.toContain(secret.slice(0, 12));
  });

  it.each([
    ['32 random bytes, base64url (what the tests use)', () => randomBytes(32).toString('base64url')],
    ['48 random bytes, base64 with padding (openssl rand -base64 48)', () => randomBytes(48).toString('base64')],
    ['32 random bytes, base64 (openssl rand -base64 32)', () => randomBytes(32).toString('base64')],
    ['32 random bytes, hex (openssl rand -hex 32)', () => randomBytes(32).toString('hex')],
    ['32 random bytes, upper-case hex', () => randomBytes(32).toString('hex').toUpperCase()],
    ['a generated secret', () => generateMasterSecret()],
  ])('accepts %s, every time (500 draws)', (_name, draw) => {
    for (let i = 0; i < 500; i++) {
      const secret = draw();
      expect(loadConfig({ LATCHKEY_SECRET: secret }).masterSecret).toBe(secret);
    }
  });

  it('generates base64url of 32 random bytes', () => {
    const secrets = new Set(Array.from({ length: 20 }, () => generateMasterSecret()));
    expect(secrets.size).toBe(20);
    for (const secret of secrets) expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
