// With an https issuer, the browser pages (authorization, sign-in and
// consent, logout) set Secure cookies. Over what Latchkey sees as plain http
// those cannot be set: the page used to fail halfway with a 500. Such a
// request is refused up front instead, with a readable 400 and, once per
// process, a warning for the operator: the usual cause is a TLS-terminating
// proxy Latchkey was not told to trust (LATCHKEY_TRUST_PROXY). Everything
// else (token, JWKS, discovery, introspection, health) sets no cookie and
// still answers plain http, which services inside a private network use.
import type { Middleware } from 'koa';
import { InsecureTransportError } from '../errors.ts';
import type { Log } from '../log.ts';
import { underPagePaths } from './page-paths.ts';

export interface HttpsPagesOptions {
  readonly issuer: string;
  /** Paths of the cookie-setting pages; each also covers what lies below it. */
  readonly pagePaths: readonly string[];
  readonly log: Log;
}

export function browserPagesRequireHttps({ issuer, pagePaths, log }: HttpsPagesOptions): Middleware {
  if (!issuer.startsWith('https:')) return (_ctx, next) => next();
  const isPage = underPagePaths(pagePaths);
  let warned = false;
  // Not async: every other request passes on without a promise of its own.
  return (ctx, next) => {
    if (ctx.secure || !isPage(ctx.path)) return next();
    if (!warned) {
      warned = true;
      log.warn(
        { path: ctx.path, trustProxy: ctx.app.proxy },
        'a browser page was requested over plain http while the issuer is https; behind a TLS-terminating proxy, set LATCHKEY_TRUST_PROXY=true (logged once)',
      );
    }
    throw new InsecureTransportError('This page is only available over https.');
  };
}
