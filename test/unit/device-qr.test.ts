// The QR endpoint's one rule about input (http/device-qr.ts): only a user
// code of the configured shape, however typed, becomes part of the URI it
// encodes; anything else is refused.
import { describe, expect, it } from 'vitest';
import { canonicalUserCode } from '../../src/http/device-qr.ts';

describe('canonicalUserCode', () => {
  it.each([
    ['BCDF-GHJK', 'BCDF-GHJK'],
    ['bcdfghjk', 'BCDF-GHJK'],
    [' bcdf ghjk ', 'BCDF-GHJK'],
    ['Bc-Df-Gh-Jk', 'BCDF-GHJK'],
  ])('turns %j into %j', (typed, canonical) => {
    expect(canonicalUserCode(typed)).toBe(canonical);
  });

  it.each([
    ['vowels (not in base-20)', 'ABCD-EFGH'],
    ['digits', '1234-5678'],
    ['too short', 'BCDF-GHJ'],
    ['too long', 'BCDF-GHJKL'],
    ['a URL', 'https://evil.example/'],
    ['markup', '<svg onload=alert(1)>'],
    ['empty', ''],
    ['a huge value', 'B'.repeat(10_000)],
    ['not a string (a repeated parameter)', ['BCDF-GHJK', 'BCDF-GHJK']],
    ['absent', undefined],
  ])('refuses %s', (_label, typed) => {
    expect(canonicalUserCode(typed)).toBeUndefined();
  });
});
