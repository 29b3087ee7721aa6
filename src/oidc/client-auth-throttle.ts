// Back-off for failed client authentication at the endpoints that
// authenticate clients (token, introspection, revocation, pushed
// authorization requests), per (client_id, client IP) and per client IP,
// through oidc-provider's documented `provider.use` hook. oidc-provider
// checks the credentials first, as always: that is cheap (secrets are
// compared as SHA-256 digests, provider-internals.ts; an assertion is one
// signature check against keys it holds), so a client presenting the right
// credentials is served whatever the counts say. A client_id is public, and a
// stranger failing with it must not be able to keep its client out. Only a
// failure (401 invalid_client) consults the counts: while a key is blocked it
// is answered 429 and not counted, else it is counted; a success clears what
// a success clears (throttle-policy.ts). The client_id is read after
// oidc-provider has answered, from what it parsed (client-auth-id.ts).
//
// The 429 body is RFC 6749's `temporarily_unavailable` (registered in the
// OAuth error registry, and what Latchkey already answers when its database
// is down), with Retry-After (RFC 6585) saying when to come back. Not
// `slow_down`: that is RFC 8628's device-flow polling code, which tells a
// client to keep polling 5 s slower, not to stop.
import type { Context, Middleware } from 'koa';
import { LRUCache } from 'lru-cache';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/availability.ts';
import { throttledAddress, type ThrottleKey, type ThrottleKeys } from '../throttle/throttle-keys.ts';
import type { ThrottleScope } from '../throttle/throttle-policy.ts';
import type { ThrottleService } from '../throttle/throttle-service.ts';
import { presentedClientId } from './client-auth-id.ts';

export interface ClientAuthThrottleDeps {
  readonly throttle: Pick<ThrottleService, 'check' | 'fail' | 'succeed'>;
  readonly keys: Pick<ThrottleKeys, 'clientAuth'>;
  /** Called for each request refused, with the scope of the key that refused it. */
  readonly onThrottled?: (scope: ThrottleScope) => void;
}

const CLIENT_AUTH_ROUTES = ['token', 'introspection', 'revocation', 'pushed_authorization_request'] as const;

/**
 * How long keys whose check found no failures are trusted to stay clean
 * after a success, without asking the database again. Nearly every request
 * is a client authenticating correctly; this spares each one a database read
 * (needed only to know whether a success has a count to clear).
 */
const CLEAN_TTL_MS = 2000;

export function throttleClientAuthentication(provider: Provider, deps: ClientAuthThrottleDeps): void {
  // Read from the provider, so a mount path (an issuer with a path) is included.
  const paths = new Set(CLIENT_AUTH_ROUTES.map((route) => provider.pathFor(route)));
  // Names in this cache are the client_id and address as given (both bounded:
  // client-auth-id.ts caps client_ids), not their keyed digests, so a request
  // whose keys are both clean costs no HMAC either.
  const clean = new LRUCache<string, true>({ max: 50_000, ttl: CLEAN_TTL_MS });

  const middleware: Middleware = async (ctx, next) => {
    if (ctx.method !== 'POST' || !paths.has(ctx.path)) return next();
    await next();
    const clientId = presentedClientId(ctx as KoaContextWithOIDC);

    const address = throttledAddress(ctx.ip);
    const names = clientId ? [`client\0${clientId}\0${address}`, `ip\0${address}`] : [`ip\0${address}`];
    const keys = (): ThrottleKey[] => {
      const { client, ip } = deps.keys.clientAuth(clientId, ctx.ip);
      return client ? [client, ip] : [ip];
    };
    try {
      // 401 is invalid_client on these routes, and only that (InvalidClientAuth);
      // the status, not the body, so asking for HTML does not dodge the count.
      if (ctx.status === 401) {
        for (const name of names) clean.delete(name);
        const failed = keys();
        const verdict = await deps.throttle.check(failed);
        if (verdict.allowed) await deps.throttle.fail(failed);
        else refuse(ctx, verdict.retryAfter, verdict.blockedBy!, deps.onThrottled);
      } else if (ctx.status < 400 && !names.every((name) => clean.has(name))) {
        const verdict = await deps.throttle.check(keys());
        if (verdict.counted.length > 0) await deps.throttle.succeed(verdict.counted);
        // Only a database answer starts the trust period: renewing it on every
        // request would never look again.
        else for (const name of names) clean.set(name, true);
      }
    } catch (error) {
      // The answer stands; a count lost while the database went away is the lesser harm.
      if (!isDatabaseUnavailable(error)) throw error;
      ctx.state.log?.warn({ code: 'database_unavailable' }, 'could not record a client authentication outcome');
    }
  };
  provider.use(middleware);
}

/** Turns the provider's 401 into the 429 of a blocked key: nothing was counted. */
function refuse(ctx: Context, retryAfter: number, scope: ThrottleScope, onThrottled: ClientAuthThrottleDeps['onThrottled']): void {
  onThrottled?.(scope);
  ctx.remove('WWW-Authenticate');
  ctx.status = 429;
  ctx.set('Retry-After', String(retryAfter));
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'json';
  ctx.body = {
    error: 'temporarily_unavailable',
    error_description: `too many failed client authentications; retry after ${retryAfter} seconds`,
  };
}
