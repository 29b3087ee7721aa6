// The token every interaction form carries, on top of SameSite cookies: an
// HMAC of the interaction's uid under a key derived from the shared cookie
// keys. Any instance can check a form another instance rendered, nothing is
// stored, and a token copied from one interaction is worthless for another.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const INFO = 'latchkey interaction form token v1';

export function createFormTokens(cookieKeys: readonly string[]) {
  if (cookieKeys.length === 0) throw new TypeError('at least one cookie key is needed to sign interaction forms');
  // Derived, so a form token never doubles as a cookie signature.
  const keys = cookieKeys.map((key) => Buffer.from(hkdfSync('sha256', key, '', INFO, 32)));
  const sign = (key: Buffer, uid: string) => createHmac('sha256', key).update(uid, 'utf8').digest();

  return {
    /** Signed with the newest key. */
    issue(uid: string): string {
      return sign(keys[0]!, uid).toString('base64url');
    },

    /** Accepts a token signed with any current key, so a key rotation does not break open forms. */
    verify(uid: string, token: unknown): boolean {
      if (typeof token !== 'string' || token.length !== 43) return false;
      const presented = Buffer.from(token, 'base64url');
      if (presented.length !== 32) return false;
      // Every key is tried, match or not, so timing says nothing about which one signed it.
      return keys.map((key) => timingSafeEqual(sign(key, uid), presented)).includes(true);
    },
  };
}

export type FormTokens = ReturnType<typeof createFormTokens>;
