// createApp(deps): the Koa host. Order matters: the layers that see every
// response first (request id, access log and metrics, security headers,
// provider fix-ups, then error rendering inside them all, so an error page is
// finished like any other answer), then Latchkey's own routes, and last
// oidc-provider, which owns every protocol endpoint.
import Koa from 'koa';
import type { Config } from './config/config.ts';
import { accessLog } from './http/access-log.ts';
import { errorRendering } from './http/error-rendering.ts';
import { deviceQrCode } from './http/device-qr.ts';
import { healthRoutes, type ReadinessCheck } from './http/health.ts';
import { homePage } from './http/home-page.ts';
import { browserPagesRequireHttps } from './http/https-pages.ts';
import type { Metrics } from './http/metrics.ts';
import { providerResponseFixups } from './http/provider-response-fixups.ts';
import { requestId } from './http/request-id.ts';
import { securityHeaders } from './http/security-headers.ts';
import { staticAssets } from './http/static-assets.ts';
import type { Views } from './http/views.ts';
import type { Log } from './log.ts';
import type { ProviderHolder } from './oidc/provider-holder.ts';

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
  // Outermost first; the after-`next` work runs in the reverse order: an
  // error is rendered, the provider's answer put right, the security headers
  // set, and then the request is logged and counted with its final status.
  app.use(requestId(deps.log));
  app.use(accessLog({ log: deps.log, observe: deps.metrics.observeRequest }));
  app.use(securityHeaders({ hsts: deps.config.issuer.startsWith('https:') }));
  app.use(providerResponseFixups());
  app.use(errorRendering(deps.views, deps.log));
  const provider = deps.provider.current;
  app.use(browserPagesRequireHttps({ issuer: deps.config.issuer, pagePaths: [provider.pathFor('authorization'), provider.pathFor('end_session'), provider.pathFor('code_verification'), '/interaction', '/federation', '/email', '/password', '/account'], log: deps.log }));
  app.use(staticAssets());
  app.use(homePage(deps.views, { issuer: deps.config.issuer, jwksPath: provider.pathFor('jwks') }));
  app.use(deviceQrCode({ issuer: deps.config.issuer, verificationPath: provider.pathFor('code_verification') }));
  app.use(healthRoutes(deps.readiness));
  app.use(deps.metrics.route(deps.config.metricsToken));
  for (const route of deps.routes ?? []) app.use(route);
  app.use(deps.provider.middleware);
  return app;
}
