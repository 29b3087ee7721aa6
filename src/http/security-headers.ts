// The middleware that sets the headers every response gets, and a strict
// Content-Security-Policy for the HTML pages Latchkey renders itself (no
// scripts, except Latchkey's own same-origin script files on the pages that
// ask for them with allowPageScripts: the passkey buttons; one same-origin
// stylesheet; never framed, which stops clickjacking of login and consent).
import type { Context, Middleware } from 'koa';
import { underPagePaths } from './page-paths.ts';

export interface PagePolicyOptions {
  /** Script sources; unset: no script runs at all. */
  readonly scriptSrc?: readonly string[];
  /** Where the page's script may fetch from; unset: nowhere. */
  readonly connectSrc?: readonly string[];
}

/**
 * The Content-Security-Policy for an HTML page Latchkey serves.
 *
 * There is deliberately no form-action: Chromium applies it to every
 * redirect that follows a form submission, and the login, consent and logout
 * forms end, through redirects, at the client and then wherever the client
 * sends the person next, which may be another origin than its redirect URI.
 * Checked in Chromium (test/e2e/login-browser.test.ts): with form-action
 * 'self' plus the redirect URI's origin, an app whose callback redirects to
 * its own other origin was blocked. With no script and escaped templates,
 * nothing on these pages can add a form.
 */
export function pageCsp(options: PagePolicyOptions = {}): string {
  return [
    "default-src 'none'",
    ...(options.scriptSrc ? [`script-src ${options.scriptSrc.join(' ')}`] : []),
    ...(options.connectSrc ? [`connect-src ${options.connectSrc.join(' ')}`] : []),
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const PAGE_CSP = pageCsp();
/**
 * For the pages that load views/static/passkey.js: same-origin script files
 * only, never inline. Every other same-origin answer is CSS, HTML or JSON,
 * sent with nosniff, which a browser refuses to run as a script. The script
 * fetches its WebAuthn options from, and posts its answers to, this origin only.
 */
const PAGE_SCRIPT_CSP = pageCsp({ scriptSrc: ["'self'"], connectSrc: ["'self'"] });

/** Lets this page load Latchkey's own script files (the login and account pages: passkeys). */
export function allowPageScripts(ctx: Context): void {
  ctx.state.pageScripts = true;
}

/**
 * oidc-provider's auto-submitting pages (form_post responses, the logout
 * hand-off when there is no session) carry one inline script, and it adds
 * that script's hash to the page's script-src, but only to a script-src that
 * is already there. Mounted in front of the provider so one is; 'self' serves
 * no script of the provider's (the same-origin assets are a stylesheet and the
 * passkey script, all sent with nosniff).
 *
 * Only on the provider's pages (`pagePaths`: authorization and logout, and
 * what lies below them). Its other endpoints answer JSON; an HTML error page
 * from one of them gets securityHeaders' PAGE_CSP, which allows no script.
 * Skipping them spares the token endpoint a header set and removed on every
 * request.
 */
export function providerPagePolicy(pagePaths: readonly string[]): Middleware {
  const isPage = underPagePaths(pagePaths);
  const policy: Middleware = async (ctx, next) => {
    ctx.set('Content-Security-Policy', PROVIDER_PAGE_CSP);
    await next();
    if (!isHtml(ctx)) ctx.remove('Content-Security-Policy');
  };
  return (ctx, next) => (isPage(ctx.path) ? policy(ctx, next) : next());
}

const PROVIDER_PAGE_CSP = pageCsp({ scriptSrc: ["'self'"] });

/**
 * The response's media type compared as a string: Koa's response.is() runs
 * type-is's full media-type parser, which showed on every token request,
 * and these checks run on every response.
 */
function isHtml(ctx: Context): boolean {
  return ctx.response.type.toLowerCase() === 'text/html';
}

/**
 * Sets the headers on the finished response, error pages included: mounted
 * outside error rendering and the provider fix-ups, it runs after both.
 */
export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    if (isHtml(ctx)) {
      // oidc-provider sets its own policy on the pages it renders (form_post
      // needs an inline script); keep that one, add ours everywhere else.
      if (!ctx.response.get('Content-Security-Policy')) ctx.set('Content-Security-Policy', ctx.state.pageScripts === true ? PAGE_SCRIPT_CSP : PAGE_CSP);
      ctx.set('X-Frame-Options', 'DENY');
    }
  };
}
