// Email normalisation and password bounds, without a database.
import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/error-of.ts';
import { checkPassword, normaliseEmail, parseDisplayName } from '../../src/accounts/account-validation.ts';

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

describe('password', () => {
  it('accepts 8 to 1024 characters, counted as code points', () => {
    for (const password of ['12345678', 'p'.repeat(1024), '🔑'.repeat(8), '🔑'.repeat(1024)]) {
      expect(() => checkPassword(password)).not.toThrow();
    }
  });

  for (const [label, password] of [['empty', ''], ['7 characters', '1234567'], ['7 emoji', '🔑'.repeat(7)], ['1025 characters', 'p'.repeat(1025)]] as const) {
    it(`refuses ${label} without echoing it`, () => {
      const error = errorOf(() => checkPassword(password));
      expect(error).toMatchObject({ code: 'invalid_input', message: 'password must be 8 to 1024 characters long' });
    });
  }
});

describe('display name', () => {
  it('is optional, trimmed and bounded', () => {
    expect(parseDisplayName(undefined)).toBeNull();
    expect(parseDisplayName('   ')).toBeNull();
    expect(parseDisplayName(' Alice ')).toBe('Alice');
    expect(errorOf(() => parseDisplayName('n'.repeat(201)))).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('longer than 200') });
  });
});
