// The Admin API's router: mounts every registered route under /admin/v1,
// each as a pipeline of one-job middlewares: problem rendering (the one place
// errors become responses), the bearer gate for the route's scope, request
// validation compiled from the route's OpenAPI operation, then the handler.
// A route missing from the document fails here, at construction. Unknown
// paths under /admin/v1 are 404 problems, known paths with another method 405.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Log } from '../log.ts';
import { ADMIN_PREFIX } from './admin-prefix.ts';
import type { AdminGate } from './admin-gate.ts';
import type { AdminContext, AdminRoute } from './admin-route.ts';
import { findOperation } from './openapi.ts';
import { ProblemError, problemRendering } from './problem.ts';
import type { RequestValidation } from './request-validation.ts';

export interface AdminRouterDeps {
  readonly routes: readonly AdminRoute[];
  readonly gate: AdminGate;
  readonly validation: RequestValidation;
  readonly log: Log;
}

/** `/clients/{client_id}` → `/clients/:client_id` */
export function koaPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}

export function createAdminRouter({ routes, gate, validation, log }: AdminRouterDeps) {
  const router = new Router({ prefix: ADMIN_PREFIX });
  for (const route of routes) {
    const operation = findOperation(route.method, route.path);
    if (!operation) throw new Error(`${route.method} ${route.path} is not in the Admin API's OpenAPI document`);
    const declared = operation.security?.[0] ? Object.values(operation.security[0])[0] : undefined;
    if ((declared?.[0] ?? null) !== route.scope || (declared?.length ?? 0) > 1) {
      throw new Error(`${route.method} ${route.path}: the OpenAPI document and the route disagree on its scope`);
    }
    const steps: Middleware[] = [
      ...(route.scope === null ? [] : [gate.requireScope(route.scope)]),
      validation.forOperation(operation),
      (ctx) => route.handle(ctx as AdminContext),
    ];
    router.register(koaPath(route.path), [route.method], steps);
  }
  const methodsByPath = new Map<string, Set<string>>();
  for (const route of routes) methodsByPath.set(route.path, (methodsByPath.get(route.path) ?? new Set()).add(route.method));

  const render = problemRendering(log);
  const matched = router.routes() as Middleware;
  const middleware: Middleware = (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    return render(ctx, () =>
      matched(ctx, async () => {
        // Nothing matched: a path we know with another method, or no such path.
        const known = [...methodsByPath].find(([path]) => new RegExp(`^${ADMIN_PREFIX}${koaPath(path).replace(/:[^/]+/g, '[^/]+')}$`).test(ctx.path));
        if (known) throw new ProblemError(405, 'method_not_allowed', `${ctx.method} is not allowed here.`, { headers: { Allow: [...known[1]].join(', ') } });
        throw new ProblemError(404, 'not_found', `There is no ${ctx.path}.`);
      }),
    );
  };
  return { router, middleware };
}

export type AdminRouter = ReturnType<typeof createAdminRouter>;

export { ADMIN_PREFIX };
