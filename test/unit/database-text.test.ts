// Which request values may be sent to the database as text: a table of
// accepted and refused values, the refused ones being what PostgreSQL's text
// type rejects (NUL) or would silently change (lone surrogates).
import { describe, expect, it } from 'vitest';
import { isDatabaseText } from '../../src/db/database-text.ts';

describe('isDatabaseText', () => {
  const accepted: [string, unknown][] = [
    ['a client id', 'lk_AbCdEfGhIjKlMnOpQrStUv'],
    ['an email', 'ada@example.test'],
    ['non-ASCII text', 'café 🔑'],
    ['exactly the bound', 'x'.repeat(64)],
  ];
  for (const [label, value] of accepted) {
    it(`accepts ${label}`, () => expect(isDatabaseText(value, 64)).toBe(true));
  }

  const refused: [string, unknown][] = [
    ['an empty string', ''],
    ['one past the bound', 'x'.repeat(65)],
    ['a NUL', '\u0000'],
    ['a NUL inside', 'lk_a\u0000b'],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['surrogates in the wrong order', '\udc00\ud800'],
    ['a number', 42],
    ['an array', ['lk_a']],
    ['undefined', undefined],
    ['null', null],
  ];
  for (const [label, value] of refused) {
    it(`refuses ${label}`, () => expect(isDatabaseText(value, 64)).toBe(false));
  }
});
