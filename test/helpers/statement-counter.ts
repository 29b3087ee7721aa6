// Counts the SQL statements this process sends to the database, in the
// drivers themselves (better-sqlite3's Statement, pg's Client#query), the way
// bench/query-counter.ts does for the bench: nothing of Latchkey is replaced,
// and the database still answers every statement. For tests that must show a
// statement is not sent (a cached answer), on either dialect.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface StatementCounter {
  /** Statements whose text matched since the counter started. */
  readonly count: number;
  stop(): void;
}

export function countStatements(matches: RegExp): StatementCounter {
  let count = 0;
  const restore: (() => void)[] = [];
  const seen = (sql: unknown) => {
    const text = typeof sql === 'string' ? sql : (sql as { text?: unknown } | undefined)?.text;
    if (typeof text === 'string' && matches.test(text.trim())) count++;
  };
  const wrap = (prototype: Record<string, unknown>, method: string, sqlOf: (self: unknown, args: unknown[]) => unknown) => {
    const original = prototype[method];
    if (typeof original !== 'function') return;
    prototype[method] = function (this: unknown, ...args: unknown[]) {
      seen(sqlOf(this, args));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    restore.push(() => (prototype[method] = original));
  };

  const Sqlite = require('better-sqlite3') as new (file: string) => { prepare(sql: string): object; close(): void };
  const probe = new Sqlite(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) wrap(statement, method, (self) => (self as { source: string }).source);
  const pg = require('pg') as { Client: { prototype: Record<string, unknown> } };
  wrap(pg.Client.prototype, 'query', (_self, args) => args[0]);

  return {
    get count() {
      return count;
    },
    stop: () => restore.splice(0).forEach((undo) => undo()),
  };
}
