// Reads the statement counts query-counter.ts keeps inside a server process:
// signal it, wait for the snapshot it writes, and diff two snapshots.
import { existsSync, readFileSync } from 'node:fs';

export interface QuerySnapshot {
  readonly snapshot: number;
  readonly counts: Record<string, number>;
  readonly memory: NodeJS.MemoryUsage;
}

function read(file: string): QuerySnapshot | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as QuerySnapshot;
  } catch {
    return undefined; // caught mid-write: the next poll sees it whole
  }
}

export async function takeQuerySnapshot(pid: number, file: string): Promise<QuerySnapshot> {
  const before = read(file)?.snapshot ?? 0;
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 10) {
    const current = read(file);
    if (current && current.snapshot > before) return current;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`process ${pid} wrote no query snapshot to ${file}`);
}

export interface QueriesPerOp {
  /** All statements per successful operation. */
  readonly total: number;
  /** Per statement, most frequent first. */
  readonly statements: { readonly sql: string; readonly perOp: number }[];
}

export function queriesPerOp(before: QuerySnapshot, after: QuerySnapshot, operations: number): QueriesPerOp {
  const statements = Object.entries(after.counts)
    .map(([sql, n]) => ({ sql, perOp: (n - (before.counts[sql] ?? 0)) / Math.max(operations, 1) }))
    .filter((s) => s.perOp > 0)
    .sort((a, b) => b.perOp - a.perOp);
  return { total: statements.reduce((sum, s) => sum + s.perOp, 0), statements };
}
