// Gives every request an id (echoed as X-Request-Id), and when it ends writes
// one access-log line and hands its duration to whoever observes requests
// (the metrics). Only the path is logged: query strings can carry codes.
//
// One middleware times the request for both, rather than one layer each:
// every async layer costs promises on every request, and oidc-provider's
// AsyncLocalStorage makes each promise dearer (bench --profile).
import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Log } from '../log.ts';

export type RequestObserver = (ctx: Context, seconds: number) => void;

export function requestContext(log: Log, observe?: RequestObserver): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const id = randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    // A child logger costs a serialisation of its bindings, and most requests
    // log nothing but their access line: it is made on first use.
    let requestLog: Log | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (requestLog ??= log.child({ requestId: id })), enumerable: true });
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      observe?.(ctx, seconds);
      log.info({ requestId: id, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    }
  };
}
