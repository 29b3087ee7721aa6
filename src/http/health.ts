// Liveness and readiness. /healthz: the process answers. /readyz: it can serve
// (database reachable, migrations applied, keys loaded): load balancers route
// on it.
import Router from '@koa/router';

export interface ReadinessCheck {
  (): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

export function healthRoutes(readiness: ReadinessCheck) {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const result = await readiness();
    ctx.status = result.ready ? 200 : 503;
    ctx.body = { status: result.ready ? 'ready' : 'not_ready', checks: result.checks };
  });
  return router.routes();
}
