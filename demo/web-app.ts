// The demo web app: "Login with Latchkey" as a third-party app would build it,
// with openid-client (authorization code + PKCE, state and nonce checked, the
// ID token validated), then a call to the demo API with the access token.
import { randomBytes } from 'node:crypto';
import Koa from 'koa';
import * as oidc from 'openid-client';
import { errorPage, homePage, signedInPage } from './pages.ts';

export interface WebAppOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where the browser reaches this app (the redirect URI is `${appUrl}/callback`). */
  readonly appUrl: string;
  /** The API's route to call, and the resource indicator its tokens are for. */
  readonly apiUrl: string;
  readonly resource: string;
  readonly scope: string;
}

interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly startedAt: number;
}

const LOGIN_COOKIE = 'latchkey_demo_login';
const LOGIN_TTL_MS = 10 * 60 * 1000;

export async function createDemoWebApp(options: WebAppOptions): Promise<Koa> {
  const config = await oidc.discovery(
    new URL(options.issuer),
    options.clientId,
    options.clientSecret,
    undefined,
    // The demo issuer is plain http on this machine; a real deployment is https.
    new URL(options.issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
  const redirectUri = `${options.appUrl}/callback`;
  // Logins in progress, keyed by an opaque cookie: the PKCE verifier never leaves the server.
  const pending = new Map<string, PendingLogin>();

  const app = new Koa();
  app.use(async (ctx, next) => {
    await next();
    ctx.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
    ctx.set('cache-control', 'no-store');
    ctx.set('referrer-policy', 'no-referrer');
  });

  app.use(async (ctx) => {
    if (ctx.method !== 'GET') {
      ctx.status = 405;
      return;
    }
    switch (ctx.path) {
      case '/': {
        ctx.type = 'html';
        ctx.body = homePage({ issuer: options.issuer });
        return;
      }
      case '/login': {
        const now = Date.now();
        for (const [key, login] of pending) if (now - login.startedAt > LOGIN_TTL_MS) pending.delete(key);
        const login: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier(), startedAt: now };
        const key = randomBytes(24).toString('base64url');
        pending.set(key, login);
        ctx.cookies.set(LOGIN_COOKIE, key, { httpOnly: true, sameSite: 'lax', maxAge: LOGIN_TTL_MS, overwrite: true });
        ctx.redirect(
          oidc
            .buildAuthorizationUrl(config, {
              redirect_uri: redirectUri,
              scope: options.scope,
              resource: options.resource,
              code_challenge: await oidc.calculatePKCECodeChallenge(login.codeVerifier),
              code_challenge_method: 'S256',
              state: login.state,
              nonce: login.nonce,
            })
            .toString(),
        );
        return;
      }
      case '/callback': {
        const key = ctx.cookies.get(LOGIN_COOKIE);
        const login = key ? pending.get(key) : undefined;
        if (key) pending.delete(key);
        ctx.cookies.set(LOGIN_COOKIE, null);
        ctx.type = 'html';
        if (!login) {
          ctx.status = 400;
          ctx.body = errorPage('This sign-in was not started here or has expired. Start again.');
          return;
        }
        let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
        try {
          tokens = await oidc.authorizationCodeGrant(config, new URL(ctx.originalUrl, options.appUrl), {
            pkceCodeVerifier: login.codeVerifier,
            expectedState: login.state,
            expectedNonce: login.nonce,
          });
        } catch (error) {
          ctx.status = 400;
          const code = (error as { error?: string }).error;
          ctx.body = errorPage(code === 'access_denied' ? 'You did not allow the demo app to sign you in.' : `Latchkey refused the sign-in${code ? ` (${code})` : ''}.`);
          return;
        }
        const response = await fetch(options.apiUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        const text = await response.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // shown as text
        }
        ctx.body = signedInPage({ idTokenClaims: { ...tokens.claims() }, api: { url: options.apiUrl, status: response.status, body } });
        return;
      }
      default:
        ctx.status = 404;
        ctx.type = 'html';
        ctx.body = errorPage('There is no such page in the demo app.');
    }
  });
  return app;
}
