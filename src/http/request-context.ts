// The outermost layer: every request enters here first and leaves last. It
// gives the request an id (echoed as X-Request-Id), turns whatever the layers
// below throw into a response (error-handler.ts), finishes every response,
// error pages included (oidc-provider's answers put right, then the security
// headers: provider.ts, security-headers.ts), and when the request ends hands
// its duration to whoever observes requests (the metrics) and writes one
// access-log line. Only the path is logged: query strings can carry codes.
//
// Those jobs live in their own modules; they share this one layer because
// each async layer costs every request: oidc-provider's AsyncLocalStorage
// turns on promise hooks, and with them V8 takes its slow path for every
// await. Five empty `await next()` layers added ~0.06 ms of CPU to a
// client-credentials token here (about 0.4 ms in all; bench A/B, 2026-11-29).
import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Log } from '../log.ts';
import type { ErrorResponder } from './error-handler.ts';

export type RequestObserver = (ctx: Context, seconds: number) => void;

export interface RequestContextDeps {
  readonly log: Log;
  /** Answers an error thrown below (error-handler.ts). */
  readonly respondToError: ErrorResponder;
  /** Runs on every finished response, error pages included. */
  readonly finishResponse: (ctx: Context) => void;
  readonly observe?: RequestObserver;
}

export function requestContext({ log, respondToError, finishResponse, observe }: RequestContextDeps): Middleware {
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
      try {
        await next();
      } catch (error) {
        respondToError(ctx, error);
      }
      finishResponse(ctx);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      observe?.(ctx, seconds);
      log.info({ requestId: id, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    }
  };
}
