// The one place that turns an error thrown by our own code into a response.
// LatchkeyErrors carry their status and whether their message may be shown;
// anything else becomes a generic 500 whose details go to the log only.
// (oidc-provider renders its own OAuth errors before they reach this.)
import type { Middleware } from 'koa';
import { LatchkeyError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Views } from './views.ts';

export function errorHandler(views: Views, log: Log): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const known = error instanceof LatchkeyError ? error : undefined;
      const status = known?.status ?? (isClientHttpError(error) ? error.status : 500);
      const code = known?.code ?? (status >= 500 ? 'server_error' : 'invalid_request');
      const message = known?.expose || (status < 500 && isClientHttpError(error)) ? (error as Error).message : 'Latchkey could not complete this request.';
      const requestLog: Log = ctx.state.log ?? log;
      if (status >= 500) requestLog.error({ err: error }, 'request failed');
      ctx.status = status;
      if (ctx.accepts('html', 'json') === 'html') {
        ctx.type = 'html';
        ctx.body = views.render('error', { title: status >= 500 ? 'Something went wrong' : 'This request cannot be completed', message, code });
      } else {
        ctx.body = { error: code, error_description: message };
      }
    }
  };
}

/** Koa's own errors (e.g. a body too large) carry an HTTP status and a safe message. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose === true;
}
