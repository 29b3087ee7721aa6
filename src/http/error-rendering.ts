// The middleware that turns whatever the layers below it throw into a
// response: the one place errors become pages or JSON. LatchkeyErrors carry
// their status and whether their message may be shown; anything else becomes
// a generic 500 whose details go to the log only. (oidc-provider renders its
// own OAuth errors before they reach this.) Mounted inside the layers that
// finish responses (security headers, provider fix-ups), so error pages get
// those too.
import type { Context, Middleware } from 'koa';
import { isDatabaseUnavailable } from '../db/availability.ts';
import { DatabaseUnavailableError, LatchkeyError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Views } from './views.ts';

export function errorRendering(views: Views, log: Log): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      respond(ctx, error, views, log);
    }
  };
}

/** The error as a page (for a browser) or as OAuth-shaped JSON, with its details logged for a 5xx. */
function respond(ctx: Context, error: unknown, views: Views, log: Log): void {
  const known = toLatchkeyError(error);
  const status = known?.status ?? (isClientHttpError(error) ? error.status : 500);
  const code = known?.code ?? (status >= 500 ? 'server_error' : 'invalid_request');
  const message = known?.expose ? known.message : isClientHttpError(error) ? error.message : 'Latchkey could not complete this request.';
  const requestLog: Log = ctx.state.log ?? log;
  if (status === 503) requestLog.warn({ code }, 'database unavailable');
  else if (status >= 500) requestLog.error({ err: error }, 'request failed');
  ctx.status = status;
  if (status === 503) ctx.set('Retry-After', '5');
  if (ctx.accepts('html', 'json') === 'html') {
    ctx.type = 'html';
    ctx.body = views.render('error', { title: status >= 500 ? 'Something went wrong' : 'This request cannot be completed', message, code });
  } else {
    ctx.body = { error: code, error_description: message };
  }
}

/** Our own errors as they are; a lost database connection as DatabaseUnavailableError (503). */
function toLatchkeyError(error: unknown): LatchkeyError | undefined {
  if (error instanceof LatchkeyError) return error;
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailableError('Latchkey cannot reach its database right now; try again in a few seconds.', { cause: error });
  return undefined;
}

/** Koa's own errors (e.g. a body too large) carry an HTTP status and a safe message. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose === true;
}
