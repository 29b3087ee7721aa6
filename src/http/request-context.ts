// Gives every request an id (echoed as X-Request-Id) and writes one access-log
// line when it ends. Only the path is logged: query strings can carry codes.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Log } from '../log.ts';

export function requestContext(log: Log): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const id = randomUUID();
    ctx.state.requestId = id;
    ctx.state.log = log.child({ requestId: id });
    ctx.set('X-Request-Id', id);
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
