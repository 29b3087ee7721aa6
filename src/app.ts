// createApp(deps): the Koa host. Order matters: the request context first (id,
// error rendering, security headers, access log and metrics, in one layer),
// then Latchkey's own routes, and last oidc-provider, which owns every
// protocol endpoint.
import Koa from 'koa';
import type { Config } from './config/config.ts';
import { errorResponder } from './http/error-handler.ts';
import { healthRoutes, type ReadinessCheck } from './http/health.ts';
import { browserPagesRequireHttps } from './http/https-pages.ts';
import type { Metrics } from './http/metrics.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { staticAssets } from './http/static-assets.ts';
import type { Views } from './http/views.ts';
import type { Log } from './log.ts';
import type { ProviderHolder } from './oidc/provider-holder.ts';
import { finishProviderResponse } from './oidc/provider.ts';

export interface AppDeps {
  readonly config: Config;
  readonly log: Log;
  readonly views: Views;
  /** The oidc-provider instance, replaceable while serving (a new key set builds a new one). */
  readonly provider: ProviderHolder;
  readonly readiness: ReadinessCheck;
  readonly metrics: Metrics;
  /** Extra routes mounted before the provider (interaction pages). */
  readonly routes?: Koa.Middleware[];
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by our own middleware, never printed raw
  // X-Forwarded-* decide client IPs and https only behind a proxy we were told to trust.
  app.proxy = deps.config.trustProxy;
  // The client address is the one our proxy appended (the last in
  // X-Forwarded-For); entries before it are whatever the client sent, and
  // brute-force protection counts per address.
  app.maxIpsCount = 1;
  // The provider's middleware runs on this app's context, so its signed
  // cookies (session, interaction) are signed with this app's keys: the same.
  // Every instance the holder ever serves has the same cookie keys.
  app.keys = deps.provider.current.keys;
  const addSecurityHeaders = securityHeaders({ hsts: deps.config.issuer.startsWith('https:') });
  app.use(
    requestContext({
      log: deps.log,
      respondToError: errorResponder(deps.views, deps.log),
      finishResponse: (ctx) => {
        finishProviderResponse(ctx);
        addSecurityHeaders(ctx);
      },
      observe: deps.metrics.observeRequest,
    }),
  );
  const provider = deps.provider.current;
  app.use(browserPagesRequireHttps({ issuer: deps.config.issuer, pagePaths: [provider.pathFor('authorization'), provider.pathFor('end_session'), '/interaction'], log: deps.log }));
  app.use(staticAssets());
  app.use(healthRoutes(deps.readiness));
  app.use(deps.metrics.route(deps.config.metricsToken));
  for (const route of deps.routes ?? []) app.use(route);
  app.use(deps.provider.middleware);
  return app;
}
