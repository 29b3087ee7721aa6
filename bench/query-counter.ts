// Preloaded into a server under `npm run bench -- --profile` (node --import):
// counts every SQL statement the process executes, per statement text, in the
// drivers themselves (better-sqlite3's Statement, pg's Client#query), so no
// line of Latchkey changes to be measured. On SIGUSR2 it writes a snapshot of
// the counts (and process.memoryUsage()) to BENCH_QUERY_LOG; the bench diffs two snapshots around a
// scenario to get statements per request. Never loaded outside the bench.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const out = process.env.BENCH_QUERY_LOG;
if (!out) throw new Error('BENCH_QUERY_LOG must name the file query-counter.ts writes to');

const require = createRequire(import.meta.url);
const counts = new Map<string, number>();
let snapshots = 0;

function count(sql: unknown): void {
  const text = typeof sql === 'string' ? sql : typeof (sql as { text?: unknown })?.text === 'string' ? (sql as { text: string }).text : '(unknown)';
  // Parameters are placeholders, so the text identifies the statement; long column lists are cut.
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 240);
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function wrap(prototype: Record<string, unknown>, methods: readonly string[], sqlOf: (self: unknown, args: unknown[]) => unknown): void {
  for (const method of methods) {
    const original = prototype[method];
    if (typeof original !== 'function') continue;
    prototype[method] = function (this: unknown, ...args: unknown[]) {
      count(sqlOf(this, args));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

const SqliteDatabase = require('better-sqlite3') as new (file: string) => { prepare(sql: string): object; close(): void; exec(sql: string): void };
const probe = new SqliteDatabase(':memory:');
const statementPrototype = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
probe.close();
wrap(statementPrototype, ['run', 'get', 'all', 'iterate'], (self) => (self as { source: string }).source);
wrap(SqliteDatabase.prototype as unknown as Record<string, unknown>, ['exec'], (_self, args) => args[0]);

const pg = require('pg') as { Client: { prototype: Record<string, unknown> } };
wrap(pg.Client.prototype, ['query'], (_self, args) => args[0]);

process.on('SIGUSR2', () => {
  snapshots++;
  // Where the memory is, too: RSS alone cannot tell V8's heap from native allocations.
  writeFileSync(out, JSON.stringify({ snapshot: snapshots, counts: Object.fromEntries(counts), memory: process.memoryUsage() }));
});
