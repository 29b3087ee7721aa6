// Prometheus metrics (prom-client). Labels are bounded sets (route names,
// status codes, grant types), never raw paths or client input, so an attacker
// cannot blow up the number of series.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });

  const requests = new Counter({
    name: 'latchkey_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'latchkey_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const tokensIssued = new Counter({
    name: 'latchkey_tokens_issued_total',
    help: 'Successful token endpoint responses by grant type',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const loginFailures = new Counter({
    name: 'latchkey_login_failures_total',
    help: 'Failed password logins',
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'latchkey_throttled_requests_total',
    help: 'Requests refused by brute-force protection, by what was throttled',
    labelNames: ['scope'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'latchkey_errors_total',
    help: 'Server-side errors by kind (database, provider, unexpected)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  // Bounded: routes, methods and statuses are each a small known set.
  const seriesByKey = new Map<string, { count: { inc(): void }; latency: { observe(value: number): void } }>();

  return {
    registry,
    loginFailures,
    throttled,
    errors,

    /**
     * Counts and times one finished request (access-log.ts calls it).
     * The route label is a known name, never the raw path. Labelled children
     * are made once per route, method and status and kept, so a request
     * builds no label object (prom-client still hashes the labels inside).
     */
    observeRequest(ctx: Context, seconds: number): void {
      const route = routeName(ctx as unknown as KoaContextWithOIDC);
      const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : 'OTHER';
      const key = `${route} ${method} ${ctx.status}`;
      let series = seriesByKey.get(key);
      if (!series) {
        series = { count: requests.labels(route, method, String(ctx.status)), latency: latency.labels(route) };
        seriesByKey.set(key, series);
      }
      series.count.inc();
      series.latency.observe(seconds);
    },

    /** Counts tokens by grant type and provider errors, from oidc-provider's events. */
    observe(provider: Provider): void {
      provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
        const grantType = String(ctx.oidc.params?.grant_type ?? 'unknown');
        tokensIssued.inc({ grant_type: KNOWN_GRANTS.has(grantType) ? grantType : 'other' });
      });
      provider.on('server_error', () => errors.inc({ kind: 'provider' }));
    },

    /** GET /metrics, when a bearer token is configured; 404 otherwise (not advertised). */
    route(token: string | null): Middleware {
      if (!token) return (_ctx, next) => next();
      const expected = digest(token);
      const serve: Middleware = async (ctx) => {
        const presented = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
        if (!presented || !timingSafeEqual(digest(presented), expected)) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
          ctx.body = { error: 'invalid_token', error_description: 'metrics need the configured bearer token' };
          return;
        }
        ctx.set('Cache-Control', 'no-store');
        ctx.type = registry.contentType;
        ctx.body = await registry.metrics();
      };
      // The guard is not async, so every other request passes without a promise of its own.
      return (ctx, next) => (ctx.path === '/metrics' && ctx.method === 'GET' ? serve(ctx, next) : next());
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const KNOWN_METHODS = new Set(['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH']);
const KNOWN_GRANTS = new Set(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:token-exchange']);
const OWN_ROUTES = new Map([
  ['/healthz', 'healthz'],
  ['/readyz', 'readyz'],
  ['/metrics', 'metrics'],
  ['/static/latchkey.css', 'static'],
]);

function routeName(ctx: KoaContextWithOIDC): string {
  const oidcRoute = (ctx as { oidc?: { route?: string } }).oidc?.route;
  if (oidcRoute) return oidcRoute;
  const own = OWN_ROUTES.get(ctx.path);
  if (own) return own;
  if (ctx.path.startsWith('/interaction/')) return 'interaction';
  return 'other';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
