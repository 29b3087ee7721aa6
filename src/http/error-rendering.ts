// The middleware that turns whatever the layers below it throw into a
// response: the one place errors become pages or JSON. LatchkeyErrors carry
// their status and whether their message may be shown; anything else becomes
// a generic 500 whose details go to the log only. (oidc-provider renders its
// own OAuth errors before they reach this.) Mounted inside the layers that
// finish responses (security headers, provider fix-ups), so error pages get
// those too. A page says it in the browser's language (the catalog's words
// for the error's code); JSON keeps the error's own (English) description,
// which is for developers.
import type { Context, Middleware } from 'koa';
import { isDatabaseUnavailable } from '../db/availability.ts';
import { DatabaseUnavailableError, LatchkeyError } from '../errors.ts';
import type { Log } from '../log.ts';
import { message, type Message } from '../i18n/message.ts';
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
    const page = { title: status >= 500 ? 'error.server.title' : 'error.client.title', message: pageMessage(known?.code, status), code };
    ctx.body = views.render('error', page, views.localeFor(ctx));
  } else {
    ctx.body = { error: code, error_description: message };
  }
}

/** What a page says, by the error's code or Koa's status; the catalog has each of the messages `respond` may expose. */
const PAGE_MESSAGES: Readonly<Record<string, string>> = {
  https_required: 'error.httpsRequired',
  database_unavailable: 'error.unavailable.database',
  413: 'error.formTooLarge',
  415: 'error.formOnly',
};

function pageMessage(code: string | undefined, status: number): Message {
  const key = (code && PAGE_MESSAGES[code]) ?? PAGE_MESSAGES[status] ?? (status >= 500 ? 'error.server.message' : 'error.client.message');
  return message(key);
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
