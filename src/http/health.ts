// Liveness and readiness. /healthz: the process answers. /readyz: it can serve
// (database reachable, migrations applied, keys loaded): load balancers route
// on it.
import type { Middleware } from 'koa';

export interface ReadinessCheck {
  (): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

export function healthRoutes(readiness: ReadinessCheck): Middleware {
  const readyz: Middleware = async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const result = await readiness();
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
