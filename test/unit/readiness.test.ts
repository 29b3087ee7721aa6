// The readiness check built from its probes, as a table: which probes are
// asked, what is reported, and when a probe that passed is asked again.
import { describe, expect, it } from 'vitest';
import { createReadinessCheck, onceTrue, type ReadinessProbe } from '../../src/http/health.ts';

const fails: ReadinessProbe = async () => {
  throw new Error('database unreachable');
};

describe('createReadinessCheck', () => {
  const cases: [string, Record<string, ReadinessProbe>, { ready: boolean; checks: Record<string, boolean> }, string[]][] = [
    ['every probe passes', { database: async () => true, keys: async () => true }, { ready: true, checks: { database: true, keys: true } }, []],
    ['a probe is false: the others are still asked', { database: async () => true, migrations: async () => false, keys: async () => true }, { ready: false, checks: { database: true, migrations: false, keys: true } }, []],
    ['a probe throws: it and the rest are false, the reason reported', { database: fails, keys: async () => true }, { ready: false, checks: { database: false, keys: false } }, ['database unreachable']],
    ['a later probe throws', { database: async () => true, keys: fails }, { ready: false, checks: { database: true, keys: false } }, ['database unreachable']],
  ];
  for (const [description, probes, expected, reported] of cases) {
    it(description, async () => {
      const errors: string[] = [];
      const check = createReadinessCheck({ probes, onError: (error) => errors.push((error as Error).message) });
      expect(await check()).toEqual(expected);
      expect(errors).toEqual(reported);
    });
  }
});

describe('onceTrue', () => {
  it('asks until the probe passes, then never again', async () => {
    const answers = [false, true, false];
    let asked = 0;
    const probe = onceTrue(async () => answers[asked++]!);
    expect([await probe(), await probe(), await probe(), await probe()]).toEqual([false, true, true, true]);
    expect(asked).toBe(2);
  });
});
