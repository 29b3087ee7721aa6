// Gives every request an id, echoed as X-Request-Id on every response (error
// pages included: it is set before anything below can answer), and a child
// logger that carries it (ctx.state.log).
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Log } from '../log.ts';

export function requestId(log: Log): Middleware {
  return (ctx, next) => {
    const id = randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    // A child logger costs a serialisation of its bindings, and most requests
    // log nothing but their access line: it is made on first use.
    let requestLog: Log | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (requestLog ??= log.child({ requestId: id })), enumerable: true });
    return next();
  };
}
