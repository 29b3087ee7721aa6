// Back-off for failed client authentication at the endpoints that
// authenticate clients (token, introspection, revocation), per client_id and
// per client IP, through oidc-provider's documented `provider.use` hook. Before
// the provider runs, a blocked request is answered 429 and never reaches the
// secret comparison; after it, a 401 invalid_client counts as a failure, and
// a success clears what a success clears (throttle-policy.ts).
//
// The 429 body is RFC 6749's `temporarily_unavailable` (registered in the
// OAuth error registry, and what Latchkey already answers when its database
// is down), with Retry-After (RFC 6585) saying when to come back. Not
// `slow_down`: that is RFC 8628's device-flow polling code, which tells a
// client to keep polling 5 s slower, not to stop.
import type { Middleware } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Provider } from 'oidc-provider';
import { isDatabaseUnavailable } from '../db/availability.ts';
import { clientIdFromBasic, clientIdFromForm } from './client-auth-id.ts';
import { peekForm } from './form-peek.ts';
import { throttledAddress, type ThrottleKey, type ThrottleKeys } from './throttle-keys.ts';
import type { ThrottleScope } from './throttle-policy.ts';
import type { ThrottleService } from './throttle-service.ts';

export interface ClientAuthThrottleDeps {
  readonly throttle: Pick<ThrottleService, 'check' | 'fail' | 'succeed'>;
  readonly keys: Pick<ThrottleKeys, 'clientAuth'>;
  /** Called for each request refused, with the scope of the key that refused it. */
  readonly onThrottled?: (scope: ThrottleScope) => void;
}

const CLIENT_AUTH_ROUTES = ['token', 'introspection', 'revocation'] as const;

/**
 * How long a key whose check found no failures is trusted to stay clean
 * without asking the database again. Nearly every request is a client
 * authenticating correctly; this spares each one a database read. A failure
 * counted here drops its keys at once; one counted by another instance is
 * seen here within this time. Client secrets are 256-bit random strings, so
 * a few more guesses in that window change nothing.
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
    const clientId =
      clientIdFromBasic(ctx.get('authorization')) ?? (ctx.is('application/x-www-form-urlencoded') ? clientIdFromForm(await peekForm(ctx.req)) : undefined);
    const address = throttledAddress(ctx.ip);
    const names = clientId ? [`client\0${clientId}`, `ip\0${address}`] : [`ip\0${address}`];
    let keys: ThrottleKey[] | undefined;
    const throttleKeys = () => {
      if (!keys) {
        const { client, ip } = deps.keys.clientAuth(clientId, ctx.ip);
        keys = client ? [client, ip] : [ip];
      }
      return keys;
    };

    let verdict: Awaited<ReturnType<ClientAuthThrottleDeps['throttle']['check']>>;
    try {
      const trusted = names.every((name) => clean.has(name));
      verdict = trusted ? { allowed: true, retryAfter: 0, counted: [] } : await deps.throttle.check(throttleKeys());
      // Only a database answer starts the trust period: renewing it on every
      // request would never look again, and failures counted by another
      // instance would go unseen for as long as the traffic kept coming.
      if (!trusted && verdict.allowed && verdict.counted.length === 0) for (const name of names) clean.set(name, true);
    } catch (error) {
      // Without the database no client can authenticate either: let the
      // provider fail on it and answer its usual 503 temporarily_unavailable.
      if (!isDatabaseUnavailable(error)) throw error;
      return next();
    }
    if (!verdict.allowed) {
      deps.onThrottled?.(verdict.blockedBy!);
      ctx.status = 429;
      ctx.set('Retry-After', String(verdict.retryAfter));
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        error: 'temporarily_unavailable',
        error_description: `too many failed client authentications; retry after ${verdict.retryAfter} seconds`,
      };
      return;
    }

    await next();

    try {
      // 401 is invalid_client on these routes, and only that (InvalidClientAuth);
      // the status, not the body, so asking for HTML does not dodge the count.
      if (ctx.status === 401) {
        for (const name of names) clean.delete(name);
        await deps.throttle.fail(throttleKeys());
      }
      else if (ctx.status < 400 && verdict.counted.length > 0) await deps.throttle.succeed(verdict.counted);
    } catch (error) {
      // The answer stands; a count lost while the database went away is the lesser harm.
      if (!isDatabaseUnavailable(error)) throw error;
      ctx.state.log?.warn({ code: 'database_unavailable' }, 'could not record a client authentication outcome');
    }
  };
  provider.use(middleware);
}
