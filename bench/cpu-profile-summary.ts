// Where a V8 CPU profile (node --cpu-prof) spent its time: self time per
// function and per area (a package under node_modules, a folder of src/,
// Node's internals, garbage collection). Idle time is left out of the
// percentages: they are shares of the time the process was busy.
// Also a command: node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly children?: number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly selfMs: number;
  /** Of busy (non-idle) time. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idleMs: number;
  readonly functions: ProfileLine[];
  readonly areas: ProfileLine[];
  /** Latchkey's own functions (src/) by total time: themselves and everything they called. */
  readonly latchkeyInclusive: ProfileLine[];
}

const root = path.resolve(import.meta.dirname, '..');

/** A project file relative to its checkout (the profile may come from another clone of the repository, or from dist/). */
function projectPath(file: string): string {
  let relative = path.relative(root, file);
  if (relative.startsWith('..')) {
    const at = Math.max(file.lastIndexOf('/src/'), file.lastIndexOf('/bench/'));
    relative = at >= 0 ? file.slice(at + 1) : file;
  }
  // The servers run compiled: dist/app/src/x.js is src/x.ts's code.
  return relative.replace(/^dist\/(app|bench)\//, '');
}

function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope = '', name = ''] = file.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const relative = projectPath(file);
  return relative.startsWith('src/') ? relative.split('/').slice(0, 2).join('/') : relative;
}

function location(url: string, line: number): string {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  const shown = modules >= 0 ? file.slice(modules + '/node_modules/'.length) : projectPath(file);
  return `${shown}:${line + 1}`;
}

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const name = `${functionName || '(anonymous)'} ${location(url, lineNumber)}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us);
    const where = area(url, functionName);
    areas.set(where, (areas.get(where) ?? 0) + us);
  }
  // Total (inclusive) time of src/ functions: each sample counts once for every
  // distinct src/ function on its stack. Async functions show up again on the
  // stacks where they resume, so their awaited continuations count too.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!area(url, functionName).startsWith('src/')) continue;
      const name = `${functionName || '(anonymous)'} ${location(url, lineNumber)}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }

  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, percent: Math.round((1000 * us) / busyUs) / 10 }));
  return { busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), functions: lines(functions), areas: lines(areas), latchkeyInclusive: lines(inclusive) };
}

export function formatProfile(title: string, summary: ProfileSummary, top = 15): string {
  const rows = (lines: ProfileLine[]) => lines.slice(0, top).map((l) => `  ${l.percent.toFixed(1).padStart(5)}%  ${String(l.selfMs).padStart(8)} ms  ${l.name}`);
  return [
    `${title}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle`,
    ' self time by area:',
    ...rows(summary.areas),
    ' self time by function:',
    ...rows(summary.functions),
    ...(summary.latchkeyInclusive.length ? [' total time of Latchkey functions (src/, callees included):', ...rows(summary.latchkeyInclusive)] : []),
  ].join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(path.basename(file), summariseProfile(file, Number(top) || 25), Number(top) || 25)}\n`);
}
