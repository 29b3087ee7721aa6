// The Admin API's small rules as tables: cursors round-trip and anything
// else is invalid_query naming `cursor`; If-Match yields the version of one
// strong tag, nothing for none or `*`, and a version nothing has otherwise;
// pages carry a next cursor only when a row beyond the limit was fetched.
import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, toPage } from '../../src/admin/cursor.ts';
import { ifMatchVersion } from '../../src/admin/etag.ts';
import { ProblemError } from '../../src/admin/problem.ts';

describe('cursors', () => {
  it.each([[['lk_abc']], [['2026-12-06T10:00:00.000Z', '0193a…']], [['with "quotes" and ünïcode']]])('round-trip %j', (key) => {
    expect(decodeCursor(encodeCursor(key), key.length)).toEqual(key);
  });

  it('no cursor is the first page', () => {
    expect(decodeCursor(undefined, 1)).toBeUndefined();
  });

  it.each([
    ['not base64url', '***'],
    ['base64url of no JSON', Buffer.from('nope').toString('base64url')],
    ['JSON that is no array', Buffer.from('{"id":"x"}').toString('base64url')],
    ['a key of another arity', encodeCursor(['a', 'b'])],
    ['a key with a number', Buffer.from('[1]').toString('base64url')],
    ['an empty string', ''],
  ])('%s → 400 invalid_query naming cursor', (_, cursor) => {
    try {
      decodeCursor(cursor, 1);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ProblemError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_query', options: { errors: [{ field: 'cursor' }] } });
    }
  });

  it('a page has a next cursor only when more rows than the limit came back', () => {
    const rows = ['a', 'b', 'c'];
    expect(toPage(rows, 2, (row) => [row], (row) => row)).toEqual({ items: ['a', 'b'], next_cursor: encodeCursor(['b']) });
    expect(toPage(rows, 3, (row) => [row], (row) => row)).toEqual({ items: rows, next_cursor: null });
    expect(toPage([], 3, (row: string) => [row], (row) => row)).toEqual({ items: [], next_cursor: null });
  });
});

describe('If-Match', () => {
  const withHeader = (value: string) => ({ get: (name: string) => (name.toLowerCase() === 'if-match' ? value : '') }) as unknown as Context;

  it.each([
    ['absent', '', undefined],
    ['any version', '*', undefined],
    ['one strong tag', '"1796579978550"', '1796579978550'],
    ['with spaces around', '  "17"  ', '17'],
  ])('%s → %s', (_, header, version) => {
    expect(ifMatchVersion(withHeader(header))).toBe(version);
  });

  it.each([
    ['a weak tag', 'W/"17"'],
    ['an unquoted value', '17'],
    ['two tags', '"17", "18"'],
  ])('%s matches no version', (_, header) => {
    const version = ifMatchVersion(withHeader(header));
    expect(version).toBeDefined();
    expect(version).not.toBe('17');
    expect(version).not.toBe('18');
  });
});
