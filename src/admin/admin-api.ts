// The Admin API as the composition root mounts it: a middleware that lets
// every request outside /admin/v1 through at the cost of a prefix check, and
// builds the router (ajv, the compiled schemas, the verifier) at the first
// request inside it, so the token, JWKS and authorization paths, and the
// memory of a server nobody administers over HTTP, never pay for it.
import type { Middleware } from 'koa';
import type { AdminDeps } from './admin-deps.ts';
import { ADMIN_PREFIX } from './admin-prefix.ts';

export function createAdminApi(deps: AdminDeps): Middleware {
  let built: Promise<Middleware> | undefined;
  const build = async (): Promise<Middleware> => {
    const [{ createAdminRouter }, { createAdminGate }, { createCallerStanding }, { createRequestValidation }, { adminRoutes }, { openApiDocument }] = await Promise.all([
      import('./admin-router.ts'),
      import('./admin-gate.ts'),
      import('./caller-standing.ts'),
      import('./request-validation.ts'),
      import('./admin-routes.ts'),
      import('./openapi.ts'),
    ]);
    return createAdminRouter({
      routes: adminRoutes(deps),
      gate: createAdminGate({
        issuer: deps.config.issuer,
        publicJwks: () => deps.keys.service.publicJwks(),
        standingOf: createCallerStanding({ clients: deps.services.clients, accounts: deps.services.accounts }),
      }),
      validation: createRequestValidation(openApiDocument),
      log: deps.log,
    }).middleware;
  };
  return async (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return (await built)(ctx, next);
  };
}
