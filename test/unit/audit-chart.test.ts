import { describe, expect, it } from 'vitest';
import { auditChart } from '../../src/console/audit-chart.ts';

const NOW = new Date('2026-12-06T12:34:00Z');

describe('auditChart', () => {
  it('always draws 24 hours ending with the current one, hours the summary leaves out at zero', () => {
    const chart = auditChart([{ hour: '2026-12-06T10:00:00Z', tokens_issued: 8, failed_logins: 2 }], NOW);
    expect(chart.rows).toHaveLength(24);
    expect(chart.rows[0]!.hour).toBe('2026-12-05T13:00Z');
    expect(chart.rows.at(-1)!.hour).toBe('2026-12-06T12:00Z');
    expect(chart.rows.find((row) => row.hour === '2026-12-06T10:00Z')).toEqual({ hour: '2026-12-06T10:00Z', tokens: 8, failures: 2 });
    expect(chart.totals).toEqual({ tokens: 8, failures: 2 });
  });

  it('scales the tallest bar to the plot on a round axis', () => {
    const chart = auditChart([{ hour: '2026-12-06T11:00:00.000Z', tokens_issued: 17, failed_logins: 0 }], NOW);
    expect(chart.yTicks.at(-1)!.label).toBe('20');
    const tallest = chart.tokens.find((bar) => bar.value === 17)!;
    expect(tallest.height).toBeCloseTo((17 / 20) * chart.plot.height);
    expect(tallest.label).toBe('11:00 UTC: 17 tokens issued');
  });

  it.each([
    { label: 'an hour outside the day', hours: [{ hour: '2026-12-01T10:00:00Z', tokens_issued: 5, failed_logins: 5 }] },
    { label: 'an hour that is no time', hours: [{ hour: 'yesterday', tokens_issued: 5, failed_logins: 5 }] },
    { label: 'nothing', hours: [] },
  ])('ignores $label', ({ hours }) => {
    const chart = auditChart(hours, NOW);
    expect(chart.totals).toEqual({ tokens: 0, failures: 0 });
    expect(chart.tokens.every((bar) => bar.height === 0 && Number.isFinite(bar.y))).toBe(true);
  });
});
