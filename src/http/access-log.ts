// Writes one access-log line per finished request and hands its duration to
// whoever observes requests (the metrics). Only the path is logged: query
// strings can carry authorization codes and tokens.
import type { Context, Middleware } from 'koa';
import type { Log } from '../log.ts';

export type RequestObserver = (ctx: Context, seconds: number) => void;

export interface AccessLogOptions {
  readonly log: Log;
  readonly observe?: RequestObserver;
}

export function accessLog({ log, observe }: AccessLogOptions): Middleware {
  return (ctx, next) => {
    const started = process.hrtime.bigint();
    // On the response's close, not after next(): the status is the one sent,
    // even for a request that fails past error rendering, and the request
    // pays no async layer of its own.
    ctx.res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      observe?.(ctx, seconds);
      log.info({ requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    });
    return next();
  };
}
