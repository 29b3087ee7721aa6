// The dashboard's chart: tokens issued and failed sign-ins per hour over the
// last day, from GET /admin/v1/audit-events/summary, as plain geometry a
// template draws as SVG (server-side, no script, no library). Hours the
// summary leaves out count as zero, so the axis is always 24 even hours.
export interface SummaryHour {
  readonly hour: string;
  readonly tokens_issued: number;
  readonly failed_logins: number;
}

export interface ChartBar {
  readonly x: number;
  readonly y: number;
  readonly height: number;
  readonly value: number;
  readonly label: string;
}

export interface AuditChart {
  readonly width: number;
  readonly height: number;
  readonly plot: { readonly left: number; readonly top: number; readonly width: number; readonly height: number };
  readonly barWidth: number;
  readonly tokens: ChartBar[];
  readonly failures: ChartBar[];
  readonly yTicks: { readonly y: number; readonly label: string }[];
  readonly xLabels: { readonly x: number; readonly label: string }[];
  readonly rows: { readonly hour: string; readonly tokens: number; readonly failures: number }[];
  readonly totals: { readonly tokens: number; readonly failures: number };
}

const HOUR_MS = 3_600_000;
const HOURS = 24;

/** A round step so the axis reads 0, 5, 10… or 0, 20, 40… */
function niceMax(value: number): number {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

const hourLabel = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function auditChart(hours: readonly SummaryHour[], now: Date): AuditChart {
  const lastHour = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  const first = lastHour - (HOURS - 1) * HOUR_MS;
  const counts = new Map<number, { tokens: number; failures: number }>();
  for (const entry of hours) {
    const at = Math.floor(Date.parse(entry.hour) / HOUR_MS) * HOUR_MS;
    if (!Number.isFinite(at) || at < first || at > lastHour) continue;
    const slot = counts.get(at) ?? { tokens: 0, failures: 0 };
    slot.tokens += Number(entry.tokens_issued) || 0;
    slot.failures += Number(entry.failed_logins) || 0;
    counts.set(at, slot);
  }
  const slots = Array.from({ length: HOURS }, (_, i) => {
    const at = first + i * HOUR_MS;
    return { at, ...(counts.get(at) ?? { tokens: 0, failures: 0 }) };
  });

  const width = 720;
  const height = 260;
  const plot = { left: 44, top: 12, width: width - 56, height: height - 48 };
  const max = niceMax(Math.max(...slots.map((s) => Math.max(s.tokens, s.failures)), 0));
  const slotWidth = plot.width / HOURS;
  const barWidth = Math.max(2, Math.floor((slotWidth - 4) / 2));
  const bar = (value: number, x: number, at: number, what: string): ChartBar => {
    const barHeight = (value / max) * plot.height;
    return { x, y: plot.top + plot.height - barHeight, height: barHeight, value, label: `${hourLabel(at)} UTC: ${value} ${what}` };
  };

  return {
    width,
    height,
    plot,
    barWidth,
    tokens: slots.map((s, i) => bar(s.tokens, plot.left + i * slotWidth + 2, s.at, 'tokens issued')),
    failures: slots.map((s, i) => bar(s.failures, plot.left + i * slotWidth + 2 + barWidth, s.at, 'failed sign-ins')),
    yTicks: [0, 0.25, 0.5, 0.75, 1].map((f) => ({ y: plot.top + plot.height - f * plot.height, label: String(Math.round(f * max * 100) / 100) })),
    xLabels: slots.flatMap((s, i) => (i % 3 === 0 ? [{ x: plot.left + i * slotWidth + slotWidth / 2, label: hourLabel(s.at) }] : [])),
    rows: slots.map((s) => ({ hour: `${new Date(s.at).toISOString().slice(0, 13)}:00Z`, tokens: s.tokens, failures: s.failures })),
    totals: { tokens: slots.reduce((n, s) => n + s.tokens, 0), failures: slots.reduce((n, s) => n + s.failures, 0) },
  };
}
