// Liveness and readiness. /healthz: the process answers. /readyz: it can serve
// (database reachable, migrations applied, keys loaded): load balancers route
// on it. Its answer is kept for a second, and probes arriving while a check
// runs share it, so however many balancers probe however often (or a
// stranger floods it), the database sees at most one check a second.
// createReadinessCheck builds the check from what it checks, given as probes.
import type { Middleware } from 'koa';

export interface ReadinessCheck {
  (): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

/** One thing readiness depends on: resolves true when it is in order (a throw counts as false). */
export type ReadinessProbe = () => Promise<boolean>;

export interface ReadinessDeps {
  /** Asked in order; once one throws, the rest are reported false without being asked. */
  readonly probes: Readonly<Record<string, ReadinessProbe>>;
  /** Told why a probe threw (the database unreachable, say). */
  readonly onError: (error: unknown) => void;
}

export function createReadinessCheck({ probes, onError }: ReadinessDeps): ReadinessCheck {
  return async () => {
    const checks = Object.fromEntries(Object.keys(probes).map((name) => [name, false]));
    let ready = true;
    for (const [name, probe] of Object.entries(probes)) {
      try {
        checks[name] = await probe();
        ready &&= checks[name];
      } catch (error) {
        onError(error);
        return { ready: false, checks };
      }
    }
    return { ready, checks };
  };
}

/** A probe that, once true, is not asked again: what is applied stays applied (the migrations). */
export function onceTrue(probe: ReadinessProbe): ReadinessProbe {
  let passed = false;
  return async () => (passed ||= await probe());
}

/** How long a readiness answer is served again: a balancer acts on several probes, so a second late costs nothing. */
export const READINESS_TTL_MS = 1000;

export function healthRoutes(readiness: ReadinessCheck, options: { ttlMs?: number; now?: () => number } = {}): Middleware {
  const cached = cacheReadiness(readiness, options.ttlMs ?? READINESS_TTL_MS, options.now ?? Date.now);
  const readyz: Middleware = async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const result = await cached();
    ctx.status = result.ready ? 200 : 503;
    ctx.body = { status: result.ready ? 'ready' : 'not_ready', checks: result.checks };
  };
  // Two exact paths, compared directly: this runs in front of every request.
  return (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/healthz') {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
      return undefined;
    }
    return ctx.path === '/readyz' ? readyz(ctx, next) : next();
  };
}

/** The check's answer, re-asked once it is `ttlMs` old (counted from when it came), one check at a time. */
function cacheReadiness(readiness: ReadinessCheck, ttlMs: number, now: () => number): ReadinessCheck {
  let answer: { result: ReturnType<ReadinessCheck>; until: number } | undefined;
  return () => {
    if (!answer || now() >= answer.until) {
      // Until the check settles, `until` is open-ended: concurrent probes wait for it.
      const entry = { result: readiness(), until: Number.POSITIVE_INFINITY };
      answer = entry;
      const settled = () => {
        entry.until = now() + ttlMs;
      };
      // A rejected check is served to the probes that shared it, and kept no longer than an answer.
      entry.result.then(settled, settled);
    }
    return answer.result;
  };
}
