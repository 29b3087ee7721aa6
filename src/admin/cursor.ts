// Cursor pagination for the Admin API's lists: a cursor is the sort key of
// the last item of a page (base64url JSON, opaque to callers), and the next
// page is what sorts after it. Rows inserted between two pages therefore
// never cause duplicates or gaps among the rows that existed.
import { ProblemError } from './problem.ts';

export const DEFAULT_LIMIT = 50;

export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The sort key in `cursor` (of `arity` strings), undefined for no cursor; 400 invalid_query naming `cursor` otherwise. */
export function decodeCursor(cursor: unknown, arity: number): string[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(key) || key.length !== arity || !key.every((part) => typeof part === 'string' && part.length <= 512)) throw new Error('not a key');
    return key as string[];
  } catch {
    throw new ProblemError(400, 'invalid_query', 'cursor is not one this API handed out', { errors: [{ field: 'cursor', message: 'not a cursor from next_cursor' }] });
  }
}

/** The `limit` query value (validated by the OpenAPI schema), or the default. */
export function limitOf(query: Readonly<Record<string, unknown>>): number {
  return typeof query.limit === 'number' ? query.limit : DEFAULT_LIMIT;
}

/**
 * A page from `rows` fetched with `limit + 1`: the extra row, when there is
 * one, only says that a next page exists.
 */
export function toPage<Row, Item>(rows: readonly Row[], limit: number, keyOf: (row: Row) => readonly string[], toItem: (row: Row) => Item): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(toItem), next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
