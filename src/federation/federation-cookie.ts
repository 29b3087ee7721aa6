// The browser's half of a round trip to an upstream: which interaction it
// belongs to and the state sent, sealed (AES-256-GCM under a key derived
// from the master secret, the cookie's name bound as additional data) so the
// browser can neither read nor forge it. The other half (nonce, PKCE
// verifier, and the state again) is kept server-side in the interaction.
// A callback is taken only when both agree with the URL's state: a callback
// planted in someone else's browser (login CSRF) has no cookie, or one with
// another state.
//
// HttpOnly, SameSite=Lax (the upstream's redirect back is a top-level GET,
// which Lax lets through), Secure when the issuer is https, scoped to the one
// callback path, ten minutes at most, and cleared by the callback that reads
// it: single use.
import type { Context } from 'koa';
import { createSealer } from '../keys/sealing.ts';

const INFO = 'latchkey: AES-256-GCM key for the federation state cookie';
const NAME = 'latchkey.federation';
/** Long enough to sign in at the upstream (a password, a second factor), short enough not to linger. */
export const FEDERATION_COOKIE_MAX_AGE_MS = 10 * 60 * 1000;

export interface FederationCookieValue {
  /** The interaction the round trip belongs to. */
  readonly uid: string;
  /** The provider's slug, as in the callback's path. */
  readonly slug: string;
  readonly state: string;
}

export interface FederationCookieDeps {
  readonly masterSecret: string;
  readonly secure: boolean;
  readonly now?: () => number;
}

export const callbackPath = (slug: string) => `/federation/${encodeURIComponent(slug)}/callback`;

export function createFederationCookie({ masterSecret, secure, now = Date.now }: FederationCookieDeps) {
  const sealer = createSealer(masterSecret, INFO);
  const options = (slug: string) => ({ httpOnly: true, sameSite: 'lax', secure, path: callbackPath(slug), overwrite: true, signed: false }) as const;

  return {
    set(ctx: Context, value: FederationCookieValue): void {
      const sealed = sealer.seal(JSON.stringify({ ...value, expiresAt: now() + FEDERATION_COOKIE_MAX_AGE_MS }), NAME);
      ctx.cookies.set(NAME, sealed, { ...options(value.slug), maxAge: FEDERATION_COOKIE_MAX_AGE_MS });
    },

    /** Reads and clears the cookie: a second callback in this browser finds none. Undefined when missing, expired or not ours. */
    take(ctx: Context, slug: string): FederationCookieValue | undefined {
      const sealed = ctx.cookies.get(NAME, { signed: false });
      if (!sealed) return undefined;
      ctx.cookies.set(NAME, null, options(slug));
      try {
        const value = JSON.parse(sealer.open(sealed, NAME)) as Partial<FederationCookieValue> & { expiresAt?: unknown };
        if (typeof value.expiresAt !== 'number' || value.expiresAt <= now()) return undefined;
        if (typeof value.uid !== 'string' || typeof value.slug !== 'string' || typeof value.state !== 'string') return undefined;
        return { uid: value.uid, slug: value.slug, state: value.state };
      } catch {
        return undefined;
      }
    },
  };
}

export type FederationCookie = ReturnType<typeof createFederationCookie>;
