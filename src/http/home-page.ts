// GET /: a small page for whoever opens the issuer URL in a browser (a
// newcomer, an operator checking a deployment): what this server is, where
// its metadata and keys are, and where to read on. Rendered once per
// language at start; each request gets the one its Accept-Language picks.
import type { Middleware } from 'koa';
import type { Views } from './views.ts';

export function homePage(views: Views, { issuer, jwksPath }: { issuer: string; jwksPath: string }): Middleware {
  const data = { title: 'home.pageTitle', issuer, discovery: `${issuer}/.well-known/openid-configuration`, jwks: `${issuer}${jwksPath}` };
  const pages = new Map(views.locales.map((locale) => [locale, views.render('home', data, locale)]));
  // Not async: every other request passes on without a promise of its own.
  return (ctx, next) => {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.type = 'html';
    ctx.set('Vary', 'Accept-Language');
    ctx.body = pages.get(views.localeFor(ctx));
    return undefined;
  };
}
