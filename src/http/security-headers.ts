// Headers every response gets, and a strict Content-Security-Policy for the
// HTML pages Latchkey renders itself (no scripts at all; one same-origin
// stylesheet; never framed, which stops clickjacking of login and consent).
import type { Middleware } from 'koa';

const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    if (ctx.response.is('html')) {
      // oidc-provider sets its own policy on the pages it renders (form_post
      // needs an inline script); keep that one, add ours everywhere else.
      if (!ctx.response.get('Content-Security-Policy')) ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.set('X-Frame-Options', 'DENY');
    }
  };
}
