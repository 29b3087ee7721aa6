// The console's cookies: a value sealed (AES-256-GCM, keyed from the master
// secret every instance shares) with its own expiry inside, so any instance
// can read what another set, nothing is kept in a process, and the browser
// can neither read nor change it. HttpOnly, SameSite=Lax, path /admin,
// Secure whenever the issuer is https. The cookie's name is bound as
// additional data: one cookie's value does not open as another's.
import type { Context } from 'koa';
import { createSealer } from '../keys/sealing.ts';

const INFO = 'latchkey: AES-256-GCM key for the admin console cookies';

export interface SealedCookiesDeps {
  readonly masterSecret: string;
  readonly secure: boolean;
}

export function createSealedCookies({ masterSecret, secure }: SealedCookiesDeps) {
  const sealer = createSealer(masterSecret, INFO);
  const options = { httpOnly: true, sameSite: 'lax', secure, path: '/admin', overwrite: true, signed: false } as const;

  return {
    set(ctx: Context, name: string, value: unknown, maxAgeMs: number): void {
      const sealed = sealer.seal(JSON.stringify({ value, expiresAt: Date.now() + maxAgeMs }), name);
      ctx.cookies.set(name, sealed, { ...options, maxAge: maxAgeMs });
    },

    /** The value, or undefined when there is none, it expired, or it is not one this console sealed. */
    get(ctx: Context, name: string): unknown {
      const sealed = ctx.cookies.get(name, { signed: false });
      if (!sealed) return undefined;
      try {
        const { value, expiresAt } = JSON.parse(sealer.open(sealed, name)) as { value: unknown; expiresAt: number };
        return typeof expiresAt === 'number' && expiresAt > Date.now() ? value : undefined;
      } catch {
        return undefined;
      }
    },

    clear(ctx: Context, name: string): void {
      ctx.cookies.set(name, null, options);
    },
  };
}

export type SealedCookies = ReturnType<typeof createSealedCookies>;
