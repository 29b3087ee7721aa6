// Email normalisation and password bounds, without a database.
import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/error-of.ts';
import { normaliseEmail, parseDisplayName } from '../../src/accounts/account-validation.ts';
import { checkNewPassword } from '../../src/accounts/password-policy.ts';

describe('email', () => {
  const normalised: [string, string][] = [
    ['alice@example.com', 'alice@example.com'],
    ['  Alice@Example.COM\t', 'alice@example.com'],
    ['first.last+tag@sub.example.co.uk', 'first.last+tag@sub.example.co.uk'],
    ['admin@localhost', 'admin@localhost'],
  ];
  for (const [raw, expected] of normalised) {
    it(`normalises ${JSON.stringify(raw)}`, () => expect(normaliseEmail(raw)).toBe(expected));
  }

  const refused: [string, string][] = [
    ['', 'email is required'],
    ['   ', 'email is required'],
    ['alice', 'not a valid email address'],
    ['alice@', 'not a valid email address'],
    ['@example.com', 'not a valid email address'],
    ['al ice@example.com', 'not a valid email address'],
    ['alice@@example.com', 'not a valid email address'],
    ['alice@example..com', 'not a valid email address'],
    ['alice@.example.com', 'not a valid email address'],
    ['alice@example.com.', 'not a valid email address'],
    [`${'a'.repeat(65)}@example.com`, 'not a valid email address'],
    [`a@${'b'.repeat(250)}.com`, 'not a valid email address'],
    // What PostgreSQL's text type refuses, or what broken UTF-8 decodes to.
    ['ali\u0000ce@example.com', 'not a valid email address'],
    ['alice@exa\u0000mple.com', 'not a valid email address'],
    ['ali\u0007ce@example.com', 'not a valid email address'],
    ['ali\ud800ce@example.com', 'not a valid email address'],
  ];
  for (const [raw, message] of refused) {
    it(`refuses ${JSON.stringify(raw.slice(0, 30))}`, () => {
      expect(errorOf(() => normaliseEmail(raw))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining(message) });
    });
  }
});

describe('new password (NIST SP 800-63B)', () => {
  it('accepts 8 to 256 characters, counted as code points after NFKC, any Unicode', () => {
    for (const password of ['kq8#vLp2', 'p'.repeat(256), '🔑'.repeat(8), '🔑'.repeat(256), 'Grüße aus Köln', 'ｆｕｌｌｗｉｄｔｈ ｐａｓｓ']) {
      expect(() => checkNewPassword(password)).not.toThrow();
    }
  });

  it.each([
    ['empty', '', 'too_short'],
    ['7 characters', 'kq8#vLp', 'too_short'],
    ['7 emoji', '🔑'.repeat(7), 'too_short'],
    ['257 characters', 'p'.repeat(257), 'too_long'],
    // NFKC folds full-width letters to ASCII: the same password, typed on another keyboard.
    ['a common password typed in full-width letters', 'ｐａｓｓｗｏｒｄ', 'common'],
    ['a common password', 'sunshine', 'common'],
    ['a common password in capitals', 'PASSWORD1', 'common'],
    ['a common password', 'iloveyou', 'common'],
    ['a common password', 'qwertyuiop', 'common'],
  ] as const)('refuses %s without echoing it', (_label, password, rule) => {
    const error = errorOf(() => checkNewPassword(password));
    expect(error).toMatchObject({ code: 'invalid_input', rule });
    expect((error as Error).message).not.toContain(password || '\u0000');
  });
});

describe('display name', () => {
  it('is optional, trimmed and bounded', () => {
    expect(parseDisplayName(undefined)).toBeNull();
    expect(parseDisplayName('   ')).toBeNull();
    expect(parseDisplayName(' Alice ')).toBe('Alice');
    expect(errorOf(() => parseDisplayName('n'.repeat(201)))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('longer than 200') });
  });
});
