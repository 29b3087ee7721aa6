// Encrypts private key material at rest with a key derived from LATCHKEY_SECRET.
// AES-256-GCM; the caller's `context` (a kid, a cookie key id) is bound as
// additional authenticated data, so a sealed blob copied into another row no
// longer opens. Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { KeyUnavailableError } from '../errors.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Fixed, public labels: they separate this key from anything else a future
// version derives from the same master secret.
const HKDF_SALT = 'latchkey/sealing/v1';
const HKDF_INFO = 'latchkey: AES-256-GCM key for sealing private keys at rest';
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface Sealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/**
 * `info` names what the key seals: private keys by default; anything else
 * sealed with the master secret (authenticator-app secrets: mfa/totp-sealer.ts)
 * passes its own label, so one key never opens another's data.
 */
export function createSealer(masterSecret: string, info: string = HKDF_INFO): Sealer {
  const key = Buffer.from(hkdfSync('sha256', masterSecret, HKDF_SALT, info, 32));

  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
    },

    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION || !parts.slice(1).every((part) => BASE64URL.test(part))) {
        throw unavailable('it is not in the v1 sealed format');
      }
      const iv = Buffer.from(parts[1]!, 'base64url');
      const ciphertext = Buffer.from(parts[2]!, 'base64url');
      const tag = Buffer.from(parts[3]!, 'base64url');
      // Node accepts GCM tags down to 4 bytes unless told otherwise; insist on the full 16.
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw unavailable('it is not in the v1 sealed format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // The cause is dropped on purpose: nothing about the key or data may travel with it.
        throw unavailable('authentication failed (a different LATCHKEY_SECRET, another row\'s data, or altered data)');
      }
    },
  };
}

function unavailable(reason: string): KeyUnavailableError {
  return new KeyUnavailableError(`sealed key material could not be opened: ${reason}`);
}
