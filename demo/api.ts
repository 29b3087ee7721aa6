// The demo resource API: one route that needs an access token carrying
// demo:read for this API. It asks Latchkey nothing at request time; the
// verifier checks the token against Latchkey's published keys.
import Router from '@koa/router';
import Koa from 'koa';
import { requireToken, type TokenState, type Verifier } from '@latchkey/verify';
import { DEMO_API_SCOPE } from './settings.ts';

export function createDemoApi({ verifier }: { verifier: Verifier }): Koa<TokenState> {
  const router = new Router<TokenState>();
  router.get('/hello', requireToken({ verifier, scopes: [DEMO_API_SCOPE], realm: 'demo-api' }), (ctx) => {
    const { claims, scopes } = ctx.state.token;
    ctx.body = {
      message: 'Hello from the demo API: your access token was verified offline.',
      sub: claims.sub,
      client_id: claims.client_id,
      scopes,
      expires_at: new Date(claims.exp * 1000).toISOString(),
    };
  });
  const app = new Koa<TokenState>();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
