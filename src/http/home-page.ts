// GET /: a small page for whoever opens the issuer URL in a browser (a
// newcomer, an operator checking a deployment): what this server is, where
// its metadata and keys are, and where to read on. Rendered once at start.
import type { Middleware } from 'koa';
import type { Views } from './views.ts';

export function homePage(views: Views, { issuer, jwksPath }: { issuer: string; jwksPath: string }): Middleware {
  const html = views.render('home', {
    title: 'Latchkey',
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    jwks: `${issuer}${jwksPath}`,
  });
  // Not async: every other request passes on without a promise of its own.
  return (ctx, next) => {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.type = 'html';
    ctx.body = html;
    return undefined;
  };
}
