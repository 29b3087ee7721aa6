// Who is signed in to the console, and how a browser that is not gets
// signed in: the authorization-code flow with PKCE (S256) against Latchkey
// itself, as the built-in public client latchkey-admin (oidc/admin-client.ts),
// for the admin resource. The pending request's state, nonce and code
// verifier ride in a sealed cookie that lives ten minutes; the session is a
// sealed cookie (sealed-cookies.ts) holding the access token, which is all
// the console needs: nothing is kept in the process, so any instance serves
// any page. The token's lifetime is the session's; after it the browser goes
// through the authorization endpoint again, which answers at once while
// Latchkey's own sign-in session lasts.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { decodeJwt } from 'jose';
import { ADMIN_CALLBACK_PATH, ADMIN_CLIENT_ID } from '../oidc/admin-client.ts';
import { ADMIN_SCOPES, adminResourceIdentifier } from '../oidc/role-scopes.ts';
import type { SealedCookies } from './sealed-cookies.ts';

export const SIGN_IN_COOKIE = 'latchkey.console_signin';
export const SESSION_COOKIE = 'latchkey.console';
/** Long enough to sign in (a second factor included), short enough not to linger. */
const SIGN_IN_TTL_MS = 10 * 60 * 1000;
/** A token this close to its end is treated as ended, so it does not expire between the page and its API call. */
const EXPIRY_MARGIN_MS = 15_000;

export interface ConsoleUser {
  /** The session's random id: what form tokens are bound to. */
  readonly sid: string;
  readonly accessToken: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** The person's account id (`sub`). */
  readonly sub: string;
  readonly email?: string;
  /** The admin scopes the token carries: what the pages offer. */
  readonly scopes: readonly string[];
}

interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly returnTo: string;
}

export type SignInOutcome =
  | { readonly ok: true; readonly user: ConsoleUser; readonly returnTo: string }
  | { readonly ok: false; readonly reason: 'state' | 'denied' | 'exchange' | 'no_role' };

export interface ConsoleSessionDeps {
  readonly issuer: string;
  readonly authorizationPath: string;
  readonly tokenPath: string;
  readonly cookies: SealedCookies;
  readonly fetch?: typeof fetch;
}

const random = () => randomBytes(32).toString('base64url');

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Only a console page may be returned to: a path under /admin, never another origin. */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/admin(?:[/?]|$)/.test(value) && !value.includes('//') && !value.includes('\\') && !value.startsWith('/admin/v1') ? value : '/admin';
}

function isConsoleUser(value: unknown): value is ConsoleUser {
  const v = value as Partial<ConsoleUser> | undefined;
  return !!v && typeof v.sid === 'string' && typeof v.accessToken === 'string' && typeof v.expiresAt === 'number' && typeof v.sub === 'string' && Array.isArray(v.scopes);
}

export function createConsoleSession({ issuer, authorizationPath, tokenPath, cookies, fetch: fetchImpl = fetch }: ConsoleSessionDeps) {
  const redirectUri = `${issuer}${ADMIN_CALLBACK_PATH}`;
  const resource = adminResourceIdentifier(issuer);

  return {
    /** The signed-in person with a token still good for a while, or undefined. */
    current(ctx: Context): ConsoleUser | undefined {
      const user = cookies.get(ctx, SESSION_COOKIE);
      return isConsoleUser(user) && user.expiresAt - EXPIRY_MARGIN_MS > Date.now() ? user : undefined;
    },

    /** Sends the browser to Latchkey's authorization endpoint; it comes back to /admin/callback. */
    startSignIn(ctx: Context, returnTo: string): void {
      const pending: PendingSignIn = { state: random(), nonce: random(), verifier: random(), returnTo: safeReturnTo(returnTo) };
      cookies.set(ctx, SIGN_IN_COOKIE, pending, SIGN_IN_TTL_MS);
      const url = new URL(authorizationPath, issuer);
      url.search = new URLSearchParams({
        client_id: ADMIN_CLIENT_ID,
        response_type: 'code',
        scope: ['openid', ...ADMIN_SCOPES].join(' '),
        resource,
        redirect_uri: redirectUri,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(url.href);
    },

    /**
     * Finishes a sign-in at the callback: the state must be the one this
     * browser was sent off with (the cookie is spent either way), the code
     * is redeemed with the verifier, and the ID token must carry the nonce.
     * A token without any admin scope (role none) starts no session.
     */
    async finishSignIn(ctx: Context): Promise<SignInOutcome> {
      const pending = cookies.get(ctx, SIGN_IN_COOKIE) as PendingSignIn | undefined;
      cookies.clear(ctx, SIGN_IN_COOKIE);
      const state = ctx.query.state;
      if (!pending || typeof pending.state !== 'string' || typeof state !== 'string' || !sameText(pending.state, state)) return { ok: false, reason: 'state' };
      const code = ctx.query.code;
      if (ctx.query.error !== undefined || typeof code !== 'string') return { ok: false, reason: 'denied' };

      let tokens: { access_token?: unknown; id_token?: unknown };
      try {
        const response = await fetchImpl(new URL(tokenPath, issuer), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: ADMIN_CLIENT_ID, code_verifier: pending.verifier }),
          signal: AbortSignal.timeout(15_000),
        });
        if (!response.ok) return { ok: false, reason: 'exchange' };
        tokens = (await response.json()) as typeof tokens;
      } catch {
        return { ok: false, reason: 'exchange' };
      }
      if (typeof tokens.access_token !== 'string' || typeof tokens.id_token !== 'string') return { ok: false, reason: 'exchange' };

      // Straight from the token endpoint over the console's own connection
      // (OpenID Connect Core 3.1.3.7: TLS stands in for the signature check);
      // the claims that tie it to this sign-in are checked all the same.
      let idClaims: ReturnType<typeof decodeJwt>;
      let accessClaims: ReturnType<typeof decodeJwt>;
      try {
        idClaims = decodeJwt(tokens.id_token);
        accessClaims = decodeJwt(tokens.access_token);
      } catch {
        return { ok: false, reason: 'exchange' };
      }
      const audience = Array.isArray(idClaims.aud) ? idClaims.aud : [idClaims.aud];
      if (idClaims.iss !== issuer || !audience.includes(ADMIN_CLIENT_ID) || idClaims.nonce !== pending.nonce || typeof idClaims.sub !== 'string') return { ok: false, reason: 'exchange' };
      if (typeof accessClaims.exp !== 'number') return { ok: false, reason: 'exchange' };

      const granted = new Set(typeof accessClaims.scope === 'string' ? accessClaims.scope.split(' ') : []);
      const scopes = ADMIN_SCOPES.filter((scope) => granted.has(scope));
      if (!scopes.length) return { ok: false, reason: 'no_role' };
      const user: ConsoleUser = { sid: random(), accessToken: tokens.access_token, expiresAt: accessClaims.exp * 1000, sub: idClaims.sub, scopes };
      return { ok: true, user, returnTo: pending.returnTo };
    },

    /** Starts the session (after finishSignIn, with the email looked up if the token may read users). */
    save(ctx: Context, user: ConsoleUser): void {
      cookies.set(ctx, SESSION_COOKIE, user, Math.max(1000, user.expiresAt - Date.now()));
    },

    end(ctx: Context): void {
      cookies.clear(ctx, SESSION_COOKIE);
    },
  };
}

export type ConsoleSession = ReturnType<typeof createConsoleSession>;
