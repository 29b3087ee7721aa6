// Registrations (POST /reg) per client address: each one writes a client, so
// with LATCHKEY_REGISTRATION=open a flood from one address must not fill the
// database. Past its budget an address gets 429 with Retry-After, before the
// body is read. Counted in this process (throttle/rate-limit.ts), IPv6 by
// its /64, like the /auth bound.
import type { Middleware } from 'koa';
import type { RateLimit } from '../throttle/rate-limit.ts';
import { throttledAddress } from '../throttle/throttle-keys.ts';
import { REGISTRATION_PATH } from './registration-path.ts';

/** Registrations one address may make at once, and per minute after that, per instance. */
export const REGISTRATIONS_PER_MINUTE = 10;

export function throttleRegistrations({ limit, onThrottled }: { readonly limit: Pick<RateLimit, 'take'>; readonly onThrottled?: () => void }): Middleware {
  return (ctx, next) => {
    if (ctx.path !== REGISTRATION_PATH || ctx.method !== 'POST') return next();
    const verdict = limit.take(throttledAddress(ctx.ip));
    if (verdict.allowed) return next();
    onThrottled?.();
    ctx.status = 429;
    ctx.set('Retry-After', String(verdict.retryAfter));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'too_many_requests', error_description: `too many registrations from this address; try again in ${verdict.retryAfter} s` };
    return undefined;
  };
}
