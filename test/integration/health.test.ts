// /healthz and /readyz over HTTP. /readyz asks the database whether it is
// reachable (SELECT 1); load balancers probe it often, from every balancer,
// so its answer is kept for a second: a burst of probes costs one check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../helpers/statement-counter.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  // The first probe also reads the migration ledger once; out of the way.
  expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1100));
});

afterAll(async () => {
  await server?.stop();
});

const PROBES = 20;

describe('health', () => {
  it('answers /healthz without the database', async () => {
    const response = await fetch(`${server.issuer}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it(`answers ${PROBES} /readyz probes at once with one database check, and checks again after a second`, async () => {
    const checks = countStatements(/^SELECT 1$/);
    try {
      const started = Date.now();
      const probes = await Promise.all(Array.from({ length: PROBES }, () => fetch(`${server.issuer}/readyz`)));
      const elapsed = Date.now() - started;
      for (const probe of probes) {
        expect(probe.status).toBe(200);
        expect(probe.headers.get('cache-control')).toBe('no-store');
        expect(await probe.json()).toEqual({ status: 'ready', checks: { database: true, migrations: true, keys: true } });
      }
      // One check per second the burst spanned (one, unless the machine stalled for a second).
      expect(checks.count).toBeGreaterThanOrEqual(1);
      expect(checks.count).toBeLessThanOrEqual(1 + Math.floor(elapsed / 1000));

      const before = checks.count;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
      expect(checks.count).toBe(before + 1);
    } finally {
      checks.stop();
    }
  });
});
