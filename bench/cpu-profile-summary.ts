// Where a V8 CPU profile (node --cpu-prof) spent its time: self time per
// function and per area (a package under node_modules, a folder of src/,
// Node's internals, garbage collection). Idle time is left out of the
// percentages: they are shares of the time the process was busy.
// Also a command: node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
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
}

const root = path.resolve(import.meta.dirname, '..');

function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope = '', name = ''] = file.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const relative = path.relative(root, file);
  if (relative.startsWith('src/')) return relative.split('/').slice(0, 2).join('/');
  return relative.startsWith('..') ? file : relative;
}

function location(url: string, line: number): string {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  const shown = modules >= 0 ? file.slice(modules + '/node_modules/'.length) : path.relative(root, file);
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
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, percent: Math.round((1000 * us) / busyUs) / 10 }));
  return { busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), functions: lines(functions), areas: lines(areas) };
}

export function formatProfile(title: string, summary: ProfileSummary, top = 15): string {
  const rows = (lines: ProfileLine[]) => lines.slice(0, top).map((l) => `  ${l.percent.toFixed(1).padStart(5)}%  ${String(l.selfMs).padStart(8)} ms  ${l.name}`);
  return [
    `${title}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle`,
    ' self time by area:',
    ...rows(summary.areas),
    ' self time by function:',
    ...rows(summary.functions),
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
