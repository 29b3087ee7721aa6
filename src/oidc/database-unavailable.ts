// While the database is unreachable, oidc-provider would answer 500
// server_error ("our bug"). The server_error listener marks the request, and
// this turns such a response into 503 with Retry-After and
// RFC 6749's `temporarily_unavailable`, so clients know to retry (run on the
// finished response by provider.ts finishProviderResponse). Discovery
// and JWKS never touch the database and keep being served.
import type { Context } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/availability.ts';

export const RETRY_AFTER_SECONDS = 5;

export function markDatabaseOutages(provider: Provider, onOutage: (error: unknown) => void): void {
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: unknown) => {
    if (!isDatabaseUnavailable(error)) return;
    ctx.state.databaseUnavailable = true;
    onOutage(error);
  });
}

export function answerDatabaseUnavailable(ctx: Context): void {
  if (ctx.status !== 500 || !ctx.state.databaseUnavailable) return;
  ctx.status = 503;
  ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
  if (ctx.response.is('json')) {
    ctx.body = { error: 'temporarily_unavailable', error_description: 'Latchkey cannot reach its database; try again shortly' };
  }
}
