// requireToken: Koa middleware that lets a request through only with a valid
// access token carrying the route's scopes (and, with requireAcr, from a
// strong enough sign-in), and sets ctx.state.token. A
// refusal is answered here, in RFC 6750 form, so it does not depend on the
// host application's error handling. Only Koa's types are imported: the
// verifier adds no runtime dependency on Koa.
//
// DPoP (a verifier made with `dpop`): the proof must name the URL the client
// called. It is taken as `publicUrl` + ctx.path when given, else
// ctx.protocol://ctx.host + ctx.path, which believe X-Forwarded-Proto/-Host
// only with `app.proxy = true`. Behind a proxy that rewrites host or path, give
// `publicUrl`, or every proof is refused (htu_mismatch).
import type { Middleware } from 'koa';
import { authenticate, type AuthenticateOptions } from './authenticate.ts';
import { errorResponse, type ChallengeOptions } from './error-response.ts';
import { VerifyError } from './errors.ts';
import type { VerifiedAccessToken } from './verifier.ts';

export interface RequireTokenOptions extends AuthenticateOptions, Omit<ChallengeOptions, 'dpopAlgorithms'> {
  /**
   * The public origin (and path prefix) clients call this server at, e.g.
   * `https://api.example.com` or `https://example.com/orders` when a proxy
   * strips `/orders`; the request's path is appended. Default: ctx.protocol://ctx.host.
   */
  readonly publicUrl?: string;
}

export interface TokenState {
  token: VerifiedAccessToken;
}

export function requireToken(options: RequireTokenOptions): Middleware<TokenState> {
  const dpopAlgorithms = options.verifier.dpopAlgorithms;
  const base = options.publicUrl === undefined ? undefined : publicBase(options.publicUrl);
  return async (ctx, next) => {
    let token: VerifiedAccessToken;
    try {
      // headersDistinct keeps every header sent; plain headers would keep only the first.
      const headers = ctx.req.headersDistinct;
      const request = dpopAlgorithms && { proof: headers.dpop, method: ctx.method, url: `${base ?? `${ctx.protocol}://${ctx.host}`}${ctx.path}` };
      token = await authenticate(headers.authorization, options, request || undefined);
    } catch (error) {
      if (!(error instanceof VerifyError)) throw error;
      const response = errorResponse(error, { ...options, ...(dpopAlgorithms && { dpopAlgorithms }) });
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
      return;
    }
    ctx.state.token = token;
    await next();
  };
}

function publicBase(value: string): string {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) throw new TypeError('publicUrl must be an http(s) URL without query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
