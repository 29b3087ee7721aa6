import { describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../src/console/console-session.ts';

describe('safeReturnTo: where the console may send a browser after sign-in', () => {
  it.each(['/admin', '/admin/clients', '/admin/audit?type=login.*&since=2026-12-06T08:00:00Z', '/admin?done=saved'])('keeps %s', (path) => {
    expect(safeReturnTo(path)).toBe(path);
  });

  it.each([
    ['another origin', 'https://evil.example/admin'],
    ['a protocol-relative URL', '//evil.example/admin'],
    ['a path that only starts like /admin', '/administrator'],
    ['a double slash inside', '/admin//evil.example'],
    ['a backslash', '/admin/\\evil.example'],
    ['the API', '/admin/v1/clients'],
    ['another page of Latchkey', '/account'],
    ['nothing', undefined],
    ['a list', ['/admin/clients']],
  ])('replaces %s with /admin', (_label, value) => {
    expect(safeReturnTo(value)).toBe('/admin');
  });
});
