// requireToken: Koa middleware that lets a request through only with a valid
// access token carrying the route's scopes (and, with requireAcr, from a
// strong enough sign-in), and sets ctx.state.token. A
// refusal is answered here, in RFC 6750 form, so it does not depend on the
// host application's error handling. Only Koa's types are imported: the
// verifier adds no runtime dependency on Koa.
import type { Middleware } from 'koa';
import { authenticate, type AuthenticateOptions } from './authenticate.ts';
import { errorResponse, type ChallengeOptions } from './error-response.ts';
import { VerifyError } from './errors.ts';
import type { VerifiedAccessToken } from './verifier.ts';

export interface RequireTokenOptions extends AuthenticateOptions, ChallengeOptions {}

export interface TokenState {
  token: VerifiedAccessToken;
}

export function requireToken(options: RequireTokenOptions): Middleware<TokenState> {
  return async (ctx, next) => {
    let token: VerifiedAccessToken;
    try {
      // headersDistinct keeps every Authorization header; plain headers would keep only the first.
      token = await authenticate(ctx.req.headersDistinct.authorization, options);
    } catch (error) {
      if (!(error instanceof VerifyError)) throw error;
      const response = errorResponse(error, options);
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
      return;
    }
    ctx.state.token = token;
    await next();
  };
}
