// Authorization requests (/auth) per client address. Each one the provider
// answers with a login or consent page stores an Interaction row (a sign-in
// with a session stores a code), before anyone has proved anything, so a
// flood of GET /auth from one address would fill the table. Past its budget
// an address gets a readable 429 page with Retry-After, and the provider
// never sees the request. Counted in this process (throttle/rate-limit.ts): a bound on
// storage, not a brute-force count; IPv6 by its /64, like every throttle.
import type { Middleware } from 'koa';
import type { RateLimit } from '../throttle/rate-limit.ts';
import { throttledAddress } from '../throttle/throttle-keys.ts';
import { message, type Message } from '../i18n/message.ts';
import type { Views } from './views.ts';

export interface AuthorizationThrottleDeps {
  /** The provider's authorization endpoint (provider.pathFor('authorization')). */
  readonly path: string;
  readonly limit: Pick<RateLimit, 'take'>;
  readonly views: Views;
  /** Called for each request refused. */
  readonly onThrottled?: () => void;
}

export function throttleAuthorizationRequests({ path, limit, views, onThrottled }: AuthorizationThrottleDeps): Middleware {
  return (ctx, next) => {
    if (ctx.path !== path) return next();
    const verdict = limit.take(throttledAddress(ctx.ip));
    if (verdict.allowed) return next();
    onThrottled?.();
    ctx.status = 429;
    ctx.set('Retry-After', String(verdict.retryAfter));
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render(
      'error',
      {
        title: 'error.tooManyRequests.title',
        message: message('error.tooManyRequests.message', { wait: waitWords(verdict.retryAfter) }),
        code: 'too_many_requests',
      },
      // Before the provider has parsed anything: the query's ui_locales, read as it stands.
      views.localeFor(ctx, ctx.query.ui_locales),
    );
    return undefined;
  };
}

function waitWords(seconds: number): Message {
  return seconds < 60 ? message('time.second', { count: seconds }) : message('time.minute', { count: Math.ceil(seconds / 60) });
}
