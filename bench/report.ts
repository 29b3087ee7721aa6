// Turns one bench run into the two things people read: a table for the
// terminal and a JSON file under bench/results/ to compare runs over time.
// Also checks the issue's targets, so a reader sees at once what was missed.
import type { Measurement } from './http-load.ts';
import type { ProfileSummary } from './cpu-profile-summary.ts';
import type { QueriesPerOp } from './query-snapshots.ts';

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly latchkey: Measurement & { readonly queries?: QueriesPerOp };
  /** Absent for a scenario only Latchkey has (the Admin API). */
  readonly reference?: Measurement;
}

/** Seconds of quiet after the load before its RSS counts as idle (V8's memory reducer needs ~8–30 s). */
const MIN_IDLE_SECONDS = 20;

export interface ServerFacts {
  /** Spawn to first 200 from discovery, on a database already provisioned (keys generated at this boot for Latchkey). */
  readonly firstBootMs: number;
  /** The same after a restart (keys already there). */
  readonly restartMs?: number;
  readonly idleRssMbAfterStart: number;
  /** A couple of seconds after the last scenario: still holding the load's garbage. */
  readonly rssMbSoonAfterLoad: number;
  /** After the bench's idle wait (--idle), once V8 has given back what it no longer needs. */
  readonly idleRssMbAfterLoad: number;
  readonly idleSecondsAfterLoad: number;
  readonly peakRssMbUnderLoad: number;
}

export interface BenchReport {
  readonly version: 1;
  readonly startedAt: string;
  readonly dialect: 'sqlite' | 'postgres';
  readonly quick: boolean;
  readonly machine: { readonly node: string; readonly cpu: string; readonly cores: number; readonly loadBefore: number[]; readonly loadAfter: number[]; readonly commit: string };
  readonly options: Record<string, unknown>;
  readonly scenarios: ScenarioResult[];
  readonly servers: { readonly latchkey: ServerFacts; readonly reference: ServerFacts };
  readonly targets: TargetCheck[];
  readonly profiles?: {
    readonly latchkey?: ProfileSummary;
    readonly reference?: ProfileSummary;
    readonly scenario: string;
    /** process.memoryUsage() inside Latchkey, idle after the load. */
    readonly latchkeyMemoryAfterLoad?: NodeJS.MemoryUsage;
  };
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (ratio: number) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)}%` : '–');
const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n === 0 ? '0' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
// autocannon's latencies are whole milliseconds: 0 means under one.
const latency = (n: number) => (n === 0 ? '<1' : ms(n));

export function checkTargets(dialect: BenchReport['dialect'], scenarios: readonly ScenarioResult[], servers: BenchReport['servers']): TargetCheck[] {
  const find = (id: string) => scenarios.find((s) => s.id === id);
  const checks: TargetCheck[] = [];
  const cc = find('client-credentials');
  if (cc?.reference) {
    const floor = dialect === 'sqlite' ? 0.9 : 0.8;
    const reference = cc.reference;
    const ratio = cc.latchkey.rate / reference.rate;
    checks.push({ target: `client credentials ≥ ${floor * 100}% of the reference (${dialect})`, measured: `${pct(ratio)} (${fmt(cc.latchkey.rate)} vs ${fmt(reference.rate)} req/s)`, met: ratio >= floor });
    const p99 = cc.latchkey.p99Ms / reference.p99Ms;
    checks.push({ target: 'client credentials p99 ≤ 2× the reference', measured: `${p99.toFixed(2)}× (${ms(cc.latchkey.p99Ms)} vs ${ms(reference.p99Ms)} ms)`, met: p99 <= 2 });
  }
  const login = find('login');
  if (login?.latchkey.cpuMsPerOp) {
    const database = login.latchkey.databaseCpuMsPerOp ?? 0;
    const perCore = 1000 / (login.latchkey.cpuMsPerOp + database);
    checks.push({
      target: 'full logins ≥ 35/s per core',
      measured: `${fmt(perCore, 1)} per CPU-second${database ? ' (database processes included)' : ''}; ${fmt(login.latchkey.rate, 1)}/s using ${fmt(login.latchkey.serverCores, 2)} cores; reference ${fmt(1000 / (login.reference?.cpuMsPerOp ?? Number.NaN), 1)} per CPU-second`,
      met: perCore >= 35,
    });
  }
  const { latchkey } = servers;
  // A reading a few seconds after the load still holds the load's garbage (run.ts): it is not idle, so not judged.
  const atRest = latchkey.idleSecondsAfterLoad >= MIN_IDLE_SECONDS;
  const idle = atRest ? Math.max(latchkey.idleRssMbAfterStart, latchkey.idleRssMbAfterLoad) : latchkey.idleRssMbAfterStart;
  checks.push({
    target: 'idle RSS < 150 MB',
    measured: atRest
      ? `${fmt(latchkey.idleRssMbAfterStart)} MB after start, ${fmt(latchkey.idleRssMbAfterLoad)} MB idle after load`
      : `${fmt(latchkey.idleRssMbAfterStart)} MB after start (after load not judged: read ${fmt(latchkey.idleSecondsAfterLoad)} s after it, before V8 gives memory back; --idle ${MIN_IDLE_SECONDS} or more)`,
    met: idle < 150,
  });
  const startup = Math.max(latchkey.firstBootMs, latchkey.restartMs ?? 0);
  checks.push({
    target: 'start-up < 1.5 s',
    measured: `${fmt(latchkey.firstBootMs)} ms first boot${latchkey.restartMs === undefined ? '' : `, ${fmt(latchkey.restartMs)} ms restart`}`,
    met: startup < 1500,
  });
  return checks;
}

/**
 * Operations per CPU-second, Latchkey's over the reference's (database
 * processes included). Less moved by other work on the machine than req/s:
 * it says what each would do with a core to itself.
 */
function perCpuRatio(s: ScenarioResult): string {
  const latchkey = (s.latchkey.cpuMsPerOp ?? Number.NaN) + (s.latchkey.databaseCpuMsPerOp ?? 0);
  return pct((s.reference?.cpuMsPerOp ?? Number.NaN) / latchkey);
}

export function formatReport(report: BenchReport): string {
  const header = ['scenario', 'Latchkey', 'reference', 'ratio', 'p50 ms L / R', 'p99 ms L / R', 'p99 ×', 'CPU ms/op L / R', 'per-CPU ratio', 'failed L / R'];
  const rows = report.scenarios.map((s) => {
    // A Latchkey-only scenario compares with nothing: its reference cells are dashes.
    const r = s.reference ?? { rate: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN, ok: 0, failed: Number.NaN };
    return [
      s.title,
      `${fmt(s.latchkey.rate)} ${s.unit}`,
      s.reference ? `${fmt(r.rate)} ${s.unit}` : '–',
      pct(s.latchkey.rate / r.rate),
      `${latency(s.latchkey.p50Ms)} / ${s.reference ? latency(r.p50Ms) : '–'}`,
      `${latency(s.latchkey.p99Ms)} / ${s.reference ? latency(r.p99Ms) : '–'}`,
      r.p99Ms > 0 ? (s.latchkey.p99Ms / r.p99Ms).toFixed(2) : '–',
      `${ms(s.latchkey.cpuMsPerOp)}${s.latchkey.databaseCpuMsPerOp !== undefined ? ` + ${ms(s.latchkey.databaseCpuMsPerOp)} db` : ''} / ${ms(r.cpuMsPerOp)}`,
      perCpuRatio(s),
      `${s.latchkey.failed} / ${s.reference ? r.failed : '–'}`,
    ];
  });
  const { latchkey: l, reference: r } = report.servers;
  const serverRows = [
    ['start-up to first discovery (ms)', `${fmt(l.firstBootMs)} first boot / ${fmt(l.restartMs)} restart`, `${fmt(r.firstBootMs)} / ${fmt(r.restartMs)}`],
    ['RSS idle after start (MB)', fmt(l.idleRssMbAfterStart), fmt(r.idleRssMbAfterStart)],
    ['RSS peak under load (MB)', fmt(l.peakRssMbUnderLoad), fmt(r.peakRssMbUnderLoad)],
    ['RSS 2 s after load (MB)', fmt(l.rssMbSoonAfterLoad), fmt(r.rssMbSoonAfterLoad)],
    // The later reading, when there is one (--quick reads only at 2 s).
    ...(l.idleSecondsAfterLoad > 2
      ? [[`RSS ${l.idleSecondsAfterLoad >= MIN_IDLE_SECONDS ? 'idle ' : ''}${fmt(l.idleSecondsAfterLoad)} s after load (MB)`, fmt(l.idleRssMbAfterLoad), fmt(r.idleRssMbAfterLoad)]]
      : []),
  ];
  const lines = [
    `Latchkey (${report.dialect}) vs bare oidc-provider (in-memory), ${report.quick ? 'quick run' : 'full run'}, ${report.options.seconds} s per scenario${Number(report.options.rounds) > 1 ? ` × ${report.options.rounds} rounds` : ''}, ${report.options.connections} connections`,
    `node ${report.machine.node}, ${report.machine.cores} × ${report.machine.cpu}, load ${report.machine.loadBefore.map((n) => n.toFixed(2)).join(' ')} before / ${report.machine.loadAfter.map((n) => n.toFixed(2)).join(' ')} after, commit ${report.machine.commit}`,
    '',
    table(header, rows),
    '',
    table(['server', 'Latchkey', 'reference'], serverRows),
  ];
  const notes = report.scenarios.flatMap((s) => [s.latchkey.note && `${s.id} (Latchkey): ${s.latchkey.note}`, s.reference?.note && `${s.id} (reference): ${s.reference.note}`]).filter(Boolean);
  if (notes.length) lines.push('', ...notes.map((n) => `note: ${n}`));
  const spread = (m: Measurement) => (m.roundRates ? `${fmt(Math.min(...m.roundRates))}–${fmt(Math.max(...m.roundRates))}` : undefined);
  const spreads = report.scenarios.filter((s) => s.latchkey.roundRates);
  if (spreads.length) {
    lines.push('', `round-to-round spread of the rate (min–max over ${spreads[0]!.latchkey.roundRates!.length} rounds; the table shows the median round):`);
    for (const s of spreads) lines.push(`  ${s.id}: Latchkey ${spread(s.latchkey)}, reference ${s.reference ? spread(s.reference) : '–'} ${s.unit}`);
  }
  const queries = report.scenarios.filter((s) => s.latchkey.queries);
  if (queries.length) {
    lines.push('', 'Latchkey database statements per successful operation:');
    for (const s of queries) {
      lines.push(`  ${s.id}: ${s.latchkey.queries!.total.toFixed(2)}`);
      for (const statement of s.latchkey.queries!.statements.slice(0, 8)) lines.push(`    ${statement.perOp.toFixed(2)}  ${statement.sql.slice(0, 150)}`);
    }
  }
  const memory = report.profiles?.latchkeyMemoryAfterLoad;
  if (memory) {
    const mb = (n: number) => `${fmt(n / 2 ** 20)} MB`;
    lines.push('', `Latchkey memory idle after load: rss ${mb(memory.rss)} = V8 heap ${mb(memory.heapTotal)} (${mb(memory.heapUsed)} used) + external ${mb(memory.external)} (array buffers ${mb(memory.arrayBuffers)}) + code, stacks and native`);
  }
  lines.push('', 'targets (issue 6):', ...report.targets.map((t) => `  ${t.met === null ? '?   ' : t.met ? 'met ' : 'MISS'}  ${t.target}: ${t.measured}`));
  return lines.join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
